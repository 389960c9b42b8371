/**
 * Fixable findings from diagnose and audit reports, kept in Redis for a day by id so that
 * `/vpn fix <id>` can resolve them later, with the proposal state of the fix: who proposed it and
 * whether a lead approved it (once: the approval mark is set with NX).
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { HubName, PeerName, UserId } from '../core/ids.js';
import { Finding } from '../domain/models/diagnosis.js';

/** How long a finding stays resolvable (24 h). */
export const FINDING_TTL_SEC = 86_400;

export const FindingRecord = z.object({
  hub: HubName,
  finding: Finding,
  storedAt: z.string(),
  /** Where it was found, so a fix can re-run the same report. */
  source: z.enum(['diagnose', 'audit']),
  /** The peer a diagnosis was about, when it was about one. */
  peer: PeerName.optional(),
  proposedBy: UserId.optional(),
  proposedAt: z.string().optional(),
});
export type FindingRecord = z.infer<typeof FindingRecord>;

/** The store; keys are `<prefix>:finding:<id>` and `<prefix>:finding:<id>:approved`. */
export class FindingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:finding:${id}`;
  }

  /** Stores the findings that carry a fix action; keeps a pending proposal on a finding seen again. */
  async saveFixable(
    hub: string,
    source: FindingRecord['source'],
    findings: readonly Finding[],
    now: Date,
    peer?: string,
  ): Promise<void> {
    for (const f of findings) {
      if (f.action === undefined) continue;
      const previous = await this.get(f.id);
      const record: FindingRecord = {
        hub: HubName.parse(hub),
        finding: f,
        storedAt: now.toISOString(),
        source,
        ...(peer === undefined ? {} : { peer: PeerName.parse(peer) }),
        ...(previous?.proposedBy === undefined ? {} : { proposedBy: previous.proposedBy }),
        ...(previous?.proposedAt === undefined ? {} : { proposedAt: previous.proposedAt }),
      };
      await this.redis.set(this.key(f.id), JSON.stringify(record), 'EX', FINDING_TTL_SEC);
    }
  }

  /** The record, or null when unknown or expired. */
  async get(id: string): Promise<FindingRecord | null> {
    const raw = await this.redis.get(this.key(id));
    return raw === null ? null : FindingRecord.parse(JSON.parse(raw));
  }

  /** Records who proposed the fix (the first proposer stays). */
  async propose(id: string, by: string, now: Date): Promise<FindingRecord | null> {
    const record = await this.get(id);
    if (record === null) return null;
    if (record.proposedBy !== undefined) return record;
    const next = { ...record, proposedBy: UserId.parse(by), proposedAt: now.toISOString() };
    await this.redis.set(this.key(id), JSON.stringify(next), 'KEEPTTL');
    return next;
  }

  /** Marks the fix approved; false when it already was (so it is queued once). */
  async markApproved(id: string, by: string): Promise<boolean> {
    const ok = await this.redis.set(`${this.key(id)}:approved`, by, 'EX', FINDING_TTL_SEC, 'NX');
    return ok === 'OK';
  }

  /** Forgets a finding once fixed. */
  async remove(id: string): Promise<void> {
    await this.redis.del(this.key(id), `${this.key(id)}:approved`);
  }
}
