/**
 * Delivers bot messages in Slack. Routing:
 * - `peer.config` (holds a private key) goes to its owner's DM and nowhere else, whatever else
 *   the message says.
 * - To leads: a `request.review` becomes the approval card; later news about a request with a card
 *   updates the card and is threaded under it; a review report is uploaded as its Markdown and CSV
 *   files; anything else goes to the approvals channel (or each lead's DM).
 * - To a user: where their command was typed (its response_url) when known — ephemeral when
 *   private, in the channel when not — else by DM.
 * Every reply about a request also refreshes that request's approval card.
 */

import type { Outlet } from '../../bot/outlet.js';
import type { Logger } from '../../core/logger.js';
import type { Message, Reply } from '../../domain/models/reply.js';
import type { ApprovalTracker } from './approval-tracker.js';
import { replyBody, type SlackBody } from './blocks.js';
import { configDm } from './config-dm.js';
import type { Origin, OriginStore } from './origins.js';
import type { SlackApi } from './slack-api.js';

/** The request a reply is about, if any. */
export function requestIdOf(reply: Reply): string | undefined {
  const fields = reply as { requestId?: unknown; request?: { id?: unknown } };
  const id = fields.requestId ?? fields.request?.id;
  return typeof id === 'string' ? id : undefined;
}

export class SlackOutlet implements Outlet {
  constructor(
    private readonly deps: {
      api: SlackApi;
      tracker: ApprovalTracker;
      origins: OriginStore;
      logger: Logger;
    },
  ) {}

  /** Delivers a worker message; a job's messages to its starter answer where it was started. */
  async deliver(message: Message): Promise<void> {
    const origin = message.jobId === undefined ? undefined : await this.deps.origins.find(message.jobId);
    await this.deliverFrom(message, origin);
  }

  /**
   * Delivers a message; `origin` is where the command behind it was typed, when known. Failures are
   * logged, except a config's, which throws so the notifier reports it and keeps the sealed key.
   */
  async deliverFrom(message: Message, origin: Origin | undefined): Promise<void> {
    try {
      await this.route(message, origin);
    } catch (err) {
      // A config that did not arrive must be reported, and its sealed key kept (see notifier.ts).
      if (message.reply.kind === 'peer.config') throw err;
      const to = message.to.type === 'leads' ? 'leads' : message.to.id;
      this.deps.logger.error({ err, to, kind: message.reply.kind }, 'slack: delivery failed');
    }
  }

  private async route(message: Message, origin: Origin | undefined): Promise<void> {
    const { reply } = message;
    if (reply.kind === 'peer.config') {
      if (message.to.type === 'user') await configDm(this.deps.api, message.to.id, reply);
      else this.deps.logger.error('slack: refused to deliver a client config to anyone but its owner');
      return;
    }
    const requestId = requestIdOf(reply);
    if (requestId !== undefined && reply.kind !== 'request.review')
      await this.deps.tracker.refresh(requestId);
    if (message.to.type === 'leads') {
      await this.toLeads(reply, requestId);
      return;
    }
    const user = message.to.id;
    const body = replyBody(reply);
    if (origin !== undefined && origin.user === user) {
      if (await this.answerAtOrigin(origin, body, message.private)) return;
    }
    await this.deps.api.postMessage(await this.deps.api.openDm(user), body);
  }

  /** Answers where the command was typed; false when that is no longer possible (then: DM). */
  private async answerAtOrigin(origin: Origin, body: SlackBody, ephemeral: boolean): Promise<boolean> {
    try {
      if (
        origin.responseUrl !== undefined &&
        (await this.deps.api.respond(origin.responseUrl, body, ephemeral))
      )
        return true;
      if (ephemeral) return false;
      await this.deps.api.postMessage(origin.channel, body);
      return true;
    } catch (err) {
      this.deps.logger.warn(
        { err, channel: origin.channel },
        'slack: could not answer in place; sending a DM',
      );
      return false;
    }
  }

  private async toLeads(reply: Reply, requestId: string | undefined): Promise<void> {
    if (reply.kind === 'request.review') {
      await this.deps.tracker.post(reply.request, reply.preview);
      return;
    }
    if (reply.kind === 'review.report') {
      const files = [
        {
          filename: `review-${reply.reviewId}.md`,
          title: `Access review ${reply.reviewId}`,
          data: Buffer.from(reply.markdown),
        },
        {
          filename: `review-${reply.reviewId}.csv`,
          title: `Access review ${reply.reviewId} (CSV)`,
          data: Buffer.from(reply.csv),
        },
      ];
      for (const channel of await this.deps.tracker.targets())
        await this.deps.api.uploadFiles(
          channel,
          files,
          `Access review ${reply.reviewId}: the report (Markdown and CSV).`,
        );
      return;
    }
    const body = replyBody(reply);
    const cards = requestId === undefined ? [] : await this.deps.tracker.posts(requestId);
    if (cards.length > 0) {
      for (const card of cards) await this.deps.api.postMessage(card.channel, body, card.ts);
      return;
    }
    for (const channel of await this.deps.tracker.targets()) await this.deps.api.postMessage(channel, body);
  }
}
