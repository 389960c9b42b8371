/**
 * The Slack adapter: a Bolt app in HTTP mode (`/slack/events` on `slack.port`, signatures checked by
 * Bolt, replays dropped by {@link replayGuard}) or in Socket Mode when `slack.appToken` is set,
 * with the `/vpn` command, the approval buttons, the key reminders' rotate button and an outlet that delivers the bot's messages.
 *
 * Its {@link SlackAdapter.outlet} can be handed to `startRuntime` before the adapter starts; it
 * holds messages until {@link SlackAdapter.start} has the bot context.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, webApi } from '@slack/bolt';
import type { BotContext } from '../../bot/context.js';
import type { Outlet } from '../../bot/outlet.js';
import type { SlackConfig, TunnelgateConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Message } from '../../domain/models/reply.js';
import { registerApprovalActions } from './approval-actions.js';
import { ApprovalTracker } from './approval-tracker.js';
import { boltLogger } from './bolt-logger.js';
import { ChannelPacer, type PacerOptions } from './channel-pacer.js';
import { slackKeys } from './keys.js';
import { OriginStore } from './origins.js';
import { extractSignature, replayGuard } from './replay-guard.js';
import { registerReviewActions } from './review-action.js';
import { registerRotateAction } from './rotate-action.js';
import { SlackApi } from './slack-api.js';
import { SlackOutlet } from './slack-outlet.js';
import { registerUserEvents } from './user-events.js';
import { SlackNames } from './user-names.js';
import { registerVpnCommand } from './vpn-command.js';

export interface SlackAdapterOptions {
  /** Listen here instead of `slack.port` (0 = any free port; tests). */
  port?: number;
  /** Per-channel pacing (default one post per second per channel). */
  pacer?: PacerOptions;
  /** The Web API client's retry policy (default: Bolt's, ten retries over about 30 minutes). */
  retryConfig?: webApi.RetryOptions;
}

type Mode =
  | { kind: 'http'; botToken: string; signingSecret: string; port: number }
  | { kind: 'socket'; botToken: string; appToken: string };

/** The mode `slack` asks for; throws CONFIG_INVALID when a token it needs is missing. */
export function slackMode(slack: SlackConfig): Mode {
  if (slack.botToken === undefined) {
    throw new TunnelgateError('CONFIG_INVALID', 'slack.botToken is required', {
      hint: 'set slack.botToken (xoxb-…) from the app\'s "OAuth & Permissions" page',
    });
  }
  if (slack.appToken !== undefined)
    return { kind: 'socket', botToken: slack.botToken, appToken: slack.appToken };
  if (slack.signingSecret === undefined) {
    throw new TunnelgateError('CONFIG_INVALID', 'slack.signingSecret is required in HTTP mode', {
      hint: 'set slack.signingSecret (Basic Information page), or slack.appToken for Socket Mode',
    });
  }
  return { kind: 'http', botToken: slack.botToken, signingSecret: slack.signingSecret, port: slack.port };
}

export class SlackAdapter {
  private app: App | undefined;
  private started: SlackOutlet | undefined;
  private readonly waiting: Array<() => void> = [];

  /** Delivers messages once the adapter has started (earlier ones wait). */
  readonly outlet: Outlet = {
    deliver: async (message: Message) => {
      if (this.started === undefined) await new Promise<void>((resolve) => this.waiting.push(resolve));
      await this.started?.deliver(message);
    },
  };

  /** Throws CONFIG_INVALID when the `slack` section is missing or lacks a token its mode needs. */
  constructor(
    private readonly config: TunnelgateConfig,
    private readonly logger: Logger,
    private readonly options: SlackAdapterOptions = {},
  ) {
    if (config.slack === undefined)
      throw new TunnelgateError('CONFIG_INVALID', 'no slack section in the config');
    slackMode(config.slack);
  }

  /** Starts Bolt; resolves with the HTTP port (undefined in Socket Mode). Throws CONFIG_INVALID. */
  async start(ctx: BotContext): Promise<{ port: number | undefined }> {
    const slack = this.config.slack;
    if (slack === undefined) throw new TunnelgateError('CONFIG_INVALID', 'no slack section in the config');
    const mode = slackMode(slack);
    const logger = boltLogger(this.logger);
    const clientOptions = {
      ...(slack.apiUrl === undefined
        ? {}
        : { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` }),
      ...(this.options.retryConfig === undefined ? {} : { retryConfig: this.options.retryConfig }),
    };
    const app =
      mode.kind === 'socket'
        ? new App({ token: mode.botToken, appToken: mode.appToken, socketMode: true, logger, clientOptions })
        : new App({
            token: mode.botToken,
            logger,
            clientOptions,
            receiver: new HTTPReceiver({
              signingSecret: mode.signingSecret,
              endpoints: '/slack/events',
              logger,
              customPropertiesExtractor: extractSignature,
            }),
          });
    const keys = slackKeys(this.config.redis.prefix);
    const api = new SlackApi(
      app.client,
      new ChannelPacer(this.options.pacer),
      ctx.redis,
      this.config.redis.prefix,
    );
    const tracker = new ApprovalTracker({
      config: this.config,
      redis: ctx.redis,
      keys,
      requests: ctx.requests,
      api,
      logger: this.logger,
    });
    const origins = new OriginStore(ctx.redis, keys);
    const outlet = new SlackOutlet({ api, tracker, origins, logger: this.logger });
    const names = new SlackNames({ api, logger: this.logger, clock: ctx.clock });
    const deps = { ctx, api, outlet, origins, tracker, names, logger: this.logger };
    app.client.on(webApi.WebClientEvent.RATE_LIMITED, (retrySec: number, { url }: { url: string }) =>
      this.logger.warn({ retrySec, url }, 'slack: rate limited; retrying after Retry-After'),
    );
    app.use(replayGuard(ctx.redis, keys, this.logger, ctx.clock));
    registerVpnCommand(app, deps);
    registerApprovalActions(app, deps);
    registerRotateAction(app, deps);
    registerReviewActions(app, deps);
    registerUserEvents(app, deps);
    app.error(async (error) => {
      this.logger.error({ err: error }, 'slack: unhandled error');
    });
    this.app = app;
    this.started = outlet;
    for (const wake of this.waiting.splice(0)) wake();
    if (mode.kind === 'socket') {
      await app.start();
      this.logger.info('slack adapter running in Socket Mode');
      return { port: undefined };
    }
    const server = (await app.start(this.options.port ?? mode.port)) as Server;
    const port = (server.address() as AddressInfo).port;
    this.logger.info({ port, path: '/slack/events' }, 'slack adapter listening');
    return { port };
  }

  async stop(): Promise<void> {
    await this.app?.stop();
    this.app = undefined;
  }
}
