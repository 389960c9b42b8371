/**
 * The Slack Web API calls the adapter makes, in one place: posts are paced per channel
 * ({@link ChannelPacer}); 429s are retried by the Bolt WebClient after their Retry-After. DM
 * channel ids are cached. `response_url` posts go straight to the URL (they are no Web API call)
 * and are counted, since Slack accepts at most five per URL within 30 minutes.
 */
import { createHash } from 'node:crypto';
import type { webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../../core/errors.js';
import type { SlackBody } from './blocks.js';
import type { ChannelPacer } from './channel-pacer.js';

/** Where a posted message lives, for chat.update. */
export interface PostedMessage {
  channel: string;
  ts: string;
}

/** One file for a DM upload. */
export interface UploadFile {
  filename: string;
  title: string;
  data: Buffer;
}

/** Slack accepts five posts per response_url within 30 minutes. */
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_SEC = 30 * 60;

export class SlackApi {
  private readonly dms = new Map<string, string>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly pacer: ChannelPacer,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** chat.postMessage, paced for the channel; optionally in a thread. */
  async postMessage(channel: string, body: SlackBody, threadTs?: string): Promise<PostedMessage> {
    const result = await this.pacer.run(channel, () =>
      this.client.chat.postMessage({
        channel,
        text: body.text,
        blocks: body.blocks,
        unfurl_links: false,
        unfurl_media: false,
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      }),
    );
    if (result.ts === undefined || result.channel === undefined) {
      throw new TunnelgateError('INTERNAL', 'chat.postMessage answered without channel and ts');
    }
    return { channel: result.channel, ts: result.ts };
  }

  /** chat.update of a message this app posted. */
  async update(posted: PostedMessage, body: SlackBody): Promise<void> {
    await this.pacer.run(posted.channel, () =>
      this.client.chat.update({
        channel: posted.channel,
        ts: posted.ts,
        text: body.text,
        blocks: body.blocks,
      }),
    );
  }

  /** The DM channel with `user` (conversations.open), cached. */
  async openDm(user: string): Promise<string> {
    const cached = this.dms.get(user);
    if (cached !== undefined) return cached;
    const result = await this.client.conversations.open({ users: user });
    const id = result.channel?.id;
    if (id === undefined)
      throw new TunnelgateError('INTERNAL', 'conversations.open answered without a channel');
    this.dms.set(user, id);
    return id;
  }

  /** Uploads files into one conversation (files.getUploadURLExternal, upload, completeUploadExternal). */
  async uploadFiles(channel: string, files: UploadFile[], comment: string): Promise<void> {
    await this.pacer.run(channel, () =>
      this.client.files.uploadV2({
        channel_id: channel,
        initial_comment: comment,
        file_uploads: files.map((f) => ({ file: f.data, filename: f.filename, title: f.title })),
      }),
    );
  }

  /**
   * users.info: the user's display name and real name as Slack has them ('' when unset). Throws
   * when Slack refuses (e.g. `user_not_found`).
   */
  async userNames(user: string): Promise<{ displayName: string; realName: string }> {
    const result = await this.client.users.info({ user });
    const profile = result.user?.profile;
    return {
      displayName: profile?.display_name_normalized || profile?.display_name || '',
      realName: profile?.real_name_normalized || profile?.real_name || result.user?.real_name || '',
    };
  }

  /** views.open for a modal, with the interaction's trigger_id. */
  async openModal(triggerId: string, view: Parameters<webApi.WebClient['views']['open']>[0]['view']) {
    await this.client.views.open({ trigger_id: triggerId, view });
  }

  /**
   * Posts to a `response_url` (ephemeral or in-channel, never replacing the original). Returns
   * false without posting when the URL's five uses are spent; throws when Slack refuses.
   */
  async respond(responseUrl: string, body: SlackBody, ephemeral: boolean): Promise<boolean> {
    const key = `${this.prefix}:slack:rurl:${createHash('sha256').update(responseUrl).digest('hex')}`;
    const [[, uses]] = (await this.redis
      .multi()
      .incr(key)
      .expire(key, RESPONSE_URL_TTL_SEC, 'NX')
      .exec()) as [[Error | null, number]];
    if (uses > RESPONSE_URL_USES) return false;
    const response = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        response_type: ephemeral ? 'ephemeral' : 'in_channel',
        replace_original: false,
        text: body.text,
        blocks: body.blocks,
      }),
    });
    if (!response.ok) {
      throw new TunnelgateError('INTERNAL', `response_url answered ${response.status}`);
    }
    return true;
  }
}
