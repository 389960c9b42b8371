/**
 * Posts each request's approval card to the leads (the approvals channel, or a DM to every lead
 * listed by Slack user id) and keeps it current: the card's channel + ts per copy are stored in
 * Redis, and whenever a reply about the request passes through the outlet the card is re-rendered
 * from the stored request and updated in place (chat.update), unless it would show the same.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { BotContext } from '../../bot/context.js';
import type { TunnelgateConfig } from '../../config/schema.js';
import type { Logger } from '../../core/logger.js';
import { ChangePreview } from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { approvalCard, cardSignature } from './approval-card.js';
import { isSlackUserId } from './blocks.js';
import type { SlackKeys } from './keys.js';
import type { PostedMessage, SlackApi } from './slack-api.js';

const CardRecord = z.object({
  preview: ChangePreview,
  posts: z.array(z.object({ channel: z.string(), ts: z.string() })),
  shown: z.string(),
});
type CardRecord = z.infer<typeof CardRecord>;

/** Cards outlive the request's pending window: provisioning and failures update them later. */
const EXTRA_TTL_SEC = 30 * 86_400;

export class ApprovalTracker {
  constructor(
    private readonly deps: {
      config: TunnelgateConfig;
      redis: Redis;
      keys: SlackKeys;
      requests: Pick<BotContext['requests'], 'find'>;
      api: SlackApi;
      logger: Logger;
    },
  ) {}

  /** Where cards go: the approvals channel, else each lead's DM (leads listed by Slack id). */
  async targets(): Promise<string[]> {
    const channel = this.deps.config.slack?.approvalsChannel;
    if (channel !== undefined) return [channel];
    const leads = [...new Set(this.deps.config.roles.leads)];
    const skipped = leads.filter((id) => !isSlackUserId(id));
    if (skipped.length > 0) {
      this.deps.logger.warn({ skipped }, 'slack: leads without a Slack user id get no approval DM');
    }
    return Promise.all(leads.filter(isSlackUserId).map((id) => this.deps.api.openDm(id)));
  }

  /** Posts a new request's card to the leads and remembers where. */
  async post(request: AccessRequest, preview: ChangePreview): Promise<PostedMessage[]> {
    const body = approvalCard(request, preview);
    const posts: PostedMessage[] = [];
    for (const channel of await this.targets()) {
      try {
        posts.push(await this.deps.api.postMessage(channel, body));
      } catch (err) {
        this.deps.logger.error(
          { err, channel, requestId: request.id },
          'slack: could not post approval card',
        );
      }
    }
    await this.save(request.id, { preview, posts, shown: cardSignature(request) });
    return posts;
  }

  /** Where the request's card copies are (empty when it has none). */
  async posts(requestId: string): Promise<PostedMessage[]> {
    return (await this.load(requestId))?.posts ?? [];
  }

  /** Updates the request's card copies to its current state, when that changed what they show. */
  async refresh(requestId: string): Promise<void> {
    const record = await this.load(requestId);
    if (record === undefined) return;
    const request = await this.deps.requests.find(requestId);
    if (request === null) return;
    const shown = cardSignature(request);
    if (shown === record.shown) return;
    await this.save(requestId, { ...record, shown });
    const body = approvalCard(request, record.preview);
    for (const posted of record.posts) {
      try {
        await this.deps.api.update(posted, body);
      } catch (err) {
        this.deps.logger.error({ err, ...posted, requestId }, 'slack: could not update approval card');
      }
    }
  }

  private async load(requestId: string): Promise<CardRecord | undefined> {
    const raw = await this.deps.redis.get(this.deps.keys.approval(requestId));
    if (raw === null) return undefined;
    const parsed = CardRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  }

  private async save(requestId: string, record: CardRecord): Promise<void> {
    const ttl = Math.ceil(this.deps.config.policy.requestTtl / 1000) + EXTRA_TTL_SEC;
    await this.deps.redis.set(this.deps.keys.approval(requestId), JSON.stringify(record), 'EX', ttl);
  }
}
