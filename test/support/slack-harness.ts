/**
 * A real Tunnelgate with the real Slack adapter (Bolt in HTTP mode) against a lab, the suite's
 * Redis and the local Slack stand-in. Tests send signed requests to `/slack/events` exactly as
 * Slack does: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` with the signing secret.
 * With `socketMode`, Bolt runs in Socket Mode instead (app-level token, no signing secret) and
 * tests send the same payloads as envelopes over the stand-in's WebSocket.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SlackAdapter } from '../../src/adapters/slack/slack-adapter.js';
import type { Outlet } from '../../src/bot/outlet.js';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { SlackConfig, type TunnelgateConfig } from '../../src/config/schema.js';
import { type LabConfigOptions, labConfig } from '../../src/lab/config.js';
import type { Lab } from '../../src/lab/lab.js';
import { capturedLogger } from './captured-logger.js';
import { freshPrefix, redisUrl } from './redis.js';
import { type SlackStandin, startSlackStandin } from './slack-standin.js';

export const SIGNING_SECRET = 'standin-signing-secret';
export const APPROVALS_CHANNEL = 'C0APPROVALS';
export const APP_TOKEN = 'xapp-1-A0TUNNELGATE-standin';

export interface SignedOptions {
  /** Unix seconds for X-Slack-Request-Timestamp (default now). */
  timestamp?: number;
  /** Sign with this secret instead of the configured one. */
  secret?: string;
}

export interface SlackReply {
  status: number;
  body: string;
}

export interface SlackHarness {
  config: TunnelgateConfig;
  runtime: Runtime;
  standin: SlackStandin;
  /** The Slack adapter's outlet, as the notifier uses it. */
  outlet: Outlet;
  prefix: string;
  log(): string;
  /** Posts a raw body with the given signature headers. */
  send(body: string, contentType: string, headers: Record<string, string>): Promise<SlackReply>;
  /** Signature headers Slack would send for `body`. */
  sign(body: string, options?: SignedOptions): Record<string, string>;
  /** A form-encoded `/vpn` slash command body from `user`, with a fresh response_url. */
  commandBody(user: string, text: string): { body: string; responseUrl: string };
  /** Sends `/vpn <text>` as `user`, signed. */
  command(user: string, text: string, options?: SignedOptions): Promise<SlackReply & { responseUrl: string }>;
  /**
   * Clicks a button (`block_actions`) with `value` as `user` on the message posted at `ts` (in the
   * approvals channel unless `channel` says otherwise).
   */
  click(
    user: string,
    actionId: string,
    value: string,
    ts: string,
    channel?: string,
  ): Promise<SlackReply & { responseUrl: string }>;
  /** Socket Mode: sends `/vpn <text>` as `user` in a `slash_commands` envelope. */
  socketCommand(user: string, text: string): { envelopeId: string; responseUrl: string };
  /** Socket Mode: {@link SlackHarness.click}, in an `interactive` envelope. */
  socketClick(
    user: string,
    actionId: string,
    value: string,
    ts: string,
    channel?: string,
  ): { envelopeId: string; responseUrl: string };
  /** Submits the deny modal (`view_submission`) as `user`. */
  submitModal(
    user: string,
    callbackId: string,
    privateMetadata: string,
    values: Record<string, unknown>,
  ): Promise<SlackReply>;
  stop(): Promise<void>;
}

export async function startSlackHarness(
  lab: Lab,
  name: string,
  options: Partial<LabConfigOptions> & { approvalsChannel?: boolean; socketMode?: boolean } = {},
): Promise<SlackHarness> {
  const fresh = freshPrefix(name);
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-slack-'));
  const standin = await startSlackStandin();
  const { approvalsChannel = true, socketMode = false, ...overrides } = options;
  const config = labConfig(lab, {
    redisUrl: redisUrl(),
    prefix: fresh.prefix,
    dataDir,
    leads: ['U0ALICE'],
    oncall: ['U0CAROL'],
    worker: { lockDuration: '5s', stalledInterval: '2s' },
    ...overrides,
  });
  config.slack = SlackConfig.parse({
    ...(socketMode ? { appToken: APP_TOKEN } : { signingSecret: SIGNING_SECRET }),
    botToken: 'xoxb-standin',
    apiUrl: standin.apiUrl,
    ...(approvalsChannel ? { approvalsChannel: APPROVALS_CHANNEL } : {}),
  });
  const { logger, log } = capturedLogger();
  const adapter = new SlackAdapter(config, logger, {
    port: 0,
    pacer: { minIntervalMs: 20 },
    retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 50 },
  });
  const runtime = await startRuntime({ config, logger, worker: true, outlet: adapter.outlet });
  const { port } = await adapter.start(runtime.bot);
  const events = `http://127.0.0.1:${port ?? 0}/slack/events`;

  const sign = (body: string, opts: SignedOptions = {}) => {
    const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
    const hmac = createHmac('sha256', opts.secret ?? SIGNING_SECRET).update(`v0:${timestamp}:${body}`);
    return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${hmac.digest('hex')}` };
  };
  const send = async (body: string, contentType: string, headers: Record<string, string>) => {
    if (port === undefined) throw new Error('the adapter runs in Socket Mode: use socketCommand/socketClick');
    const response = await fetch(events, {
      method: 'POST',
      headers: { 'content-type': contentType, ...headers },
      body,
    });
    return { status: response.status, body: await response.text() };
  };
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
  const commandFields = (user: string, text: string) => {
    const responseUrl = standin.responseUrl();
    const fields = {
      token: 'deprecated',
      team_id: 'T0STANDIN',
      team_domain: 'standin',
      channel_id: 'C0GENERAL',
      channel_name: 'general',
      user_id: user,
      user_name: user.toLowerCase(),
      command: '/vpn',
      text,
      api_app_id: 'A0TUNNELGATE',
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: `${Date.now()}.1.abc`,
    };
    return { fields, responseUrl };
  };
  const commandBody = (user: string, text: string) => {
    const { fields, responseUrl } = commandFields(user, text);
    return { body: form(fields), responseUrl };
  };
  const payload = (json: unknown) => form({ payload: JSON.stringify(json) });
  const clickPayload = (user: string, actionId: string, value: string, ts: string, channel: string) => {
    const responseUrl = standin.responseUrl();
    const json = {
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0STANDIN' },
      api_app_id: 'A0TUNNELGATE',
      token: 'deprecated',
      container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: false },
      trigger_id: `${Date.now()}.2.def`,
      team: { id: 'T0STANDIN', domain: 'standin' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel, name: channel === APPROVALS_CHANNEL ? 'vpn-approvals' : 'directmessage' },
      message: { type: 'message', ts, text: 'VPN request', bot_id: 'B0BOT' },
      response_url: responseUrl,
      actions: [
        {
          type: 'button',
          action_id: actionId,
          block_id: `tunnelgate_block_${value}`,
          value,
          text: { type: 'plain_text', text: 'Button' },
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    };
    return { json, responseUrl };
  };

  return {
    config,
    runtime,
    standin,
    outlet: adapter.outlet,
    prefix: fresh.prefix,
    log,
    send,
    sign,
    commandBody,
    async command(user, text, opts = {}) {
      const { body, responseUrl } = commandBody(user, text);
      const reply = await send(body, 'application/x-www-form-urlencoded', sign(body, opts));
      return { ...reply, responseUrl };
    },
    async click(user, actionId, value, ts, channel = APPROVALS_CHANNEL) {
      const { json, responseUrl } = clickPayload(user, actionId, value, ts, channel);
      const body = payload(json);
      const reply = await send(body, 'application/x-www-form-urlencoded', sign(body));
      return { ...reply, responseUrl };
    },
    socketCommand(user, text) {
      const { fields, responseUrl } = commandFields(user, text);
      return { envelopeId: standin.envelope('slash_commands', fields), responseUrl };
    },
    socketClick(user, actionId, value, ts, channel = APPROVALS_CHANNEL) {
      const { json, responseUrl } = clickPayload(user, actionId, value, ts, channel);
      return { envelopeId: standin.envelope('interactive', json), responseUrl };
    },
    async submitModal(user, callbackId, privateMetadata, values) {
      const body = payload({
        type: 'view_submission',
        team: { id: 'T0STANDIN', domain: 'standin' },
        user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0STANDIN' },
        api_app_id: 'A0TUNNELGATE',
        token: 'deprecated',
        trigger_id: `${Date.now()}.3.ghi`,
        view: {
          id: 'V0MODAL',
          team_id: 'T0STANDIN',
          type: 'modal',
          callback_id: callbackId,
          private_metadata: privateMetadata,
          state: { values },
          hash: '1.abc',
          title: { type: 'plain_text', text: 'Deny VPN request' },
          blocks: [],
        },
        response_urls: [],
        is_enterprise_install: false,
      });
      return send(body, 'application/x-www-form-urlencoded', sign(body));
    },
    async stop() {
      await adapter.stop();
      await runtime.close();
      await standin.close();
      await fresh.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
