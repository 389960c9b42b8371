/**
 * Slack display names for peer names. A user's name is only ever used to NAME their new peers
 * (`zoe-o-brien-laptop` instead of `u0zoe-laptop`); who they are stays their Slack user id. The
 * name is read with users.info after the command was acknowledged, cached per user for a few
 * minutes, and made safe by {@link safeName}. When Slack has no usable name, or does not answer in
 * time, the actor has no name and the id is used.
 */

import type { Logger } from '../../core/logger.js';
import type { Actor } from '../../domain/models/command.js';
import { ActorName } from '../../domain/models/command.js';
import { slackActor } from './actor.js';
import type { SlackApi } from './slack-api.js';

/** How long a looked-up name is reused (default 10 minutes). */
const CACHE_MS = 10 * 60_000;
/** users.info slower than this falls back to the id (Bolt's client may retry for minutes). */
const LOOKUP_TIMEOUT_MS = 5_000;
/** At most this many users are cached; the oldest entry goes first. */
const CACHE_SIZE = 5_000;

/**
 * The safe form of a display name, or undefined when nothing usable is left. The rule: Unicode
 * NFKD, combining marks (diacritics) dropped, lower-cased; every run of characters other than
 * a-z, 0-9, "." and "_" (including "-") becomes one "-"; separators trimmed from both ends; at
 * most 32 characters. `Zoë O'Brien; rm -rf /` -> `zoe-o-brien-rm-rf`. Pure.
 */
export function safeName(displayName: string): string | undefined {
  const trim = (s: string) => s.replace(/^[-._]+|[-._]+$/g, '');
  const folded = displayName
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9._]+/g, '-');
  const parsed = ActorName.safeParse(trim(trim(folded).slice(0, 32)));
  return parsed.success ? parsed.data : undefined;
}

export class SlackNames {
  private readonly cache = new Map<string, { name: string | undefined; until: number }>();

  constructor(
    private readonly deps: { api: SlackApi; logger: Logger; clock: () => Date },
    private readonly options: { cacheMs?: number; timeoutMs?: number } = {},
  ) {}

  /**
   * The actor for a Slack user id, named after their display name (else real name) when it leaves
   * a safe name. Never throws for a lookup failure (the actor then has no name); throws
   * INPUT_INVALID for an id that is no user id. Call it only after `ack()`.
   */
  async actor(userId: string): Promise<Actor> {
    const actor = slackActor(userId);
    const name = await this.name(actor.id);
    return name === undefined ? actor : { ...actor, name };
  }

  private async name(userId: string): Promise<string | undefined> {
    const now = this.deps.clock().getTime();
    const cached = this.cache.get(userId);
    if (cached !== undefined && cached.until > now) return cached.name;
    let name: string | undefined;
    try {
      const names = await this.lookup(userId);
      name = safeName(names.displayName) ?? safeName(names.realName);
    } catch (err) {
      this.deps.logger.warn({ err, user: userId }, 'slack: users.info failed; naming peers by user id');
      return undefined;
    }
    this.cache.delete(userId);
    this.cache.set(userId, { name, until: now + (this.options.cacheMs ?? CACHE_MS) });
    if (this.cache.size > CACHE_SIZE) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return name;
  }

  private async lookup(userId: string): Promise<{ displayName: string; realName: string }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('users.info did not answer in time')),
        this.options.timeoutMs ?? LOOKUP_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([this.deps.api.userNames(userId), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
