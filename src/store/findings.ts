/**
 * Fixable findings from diagnose and audit reports, kept in Redis for a day by id so that
 * `/vpn fix <id>` can resolve them later, with the proposal state of the fix: who proposed it, the
 * approval gate over the digest of exactly the action the leads were shown, and whether a lead
 * approved it (once: the approval mark is set with NX). A report that finds the same problem with
 * another action drops the proposal: the leads approved the old one.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { HubName, PeerName, UserId } from '../core/ids.js';
import { Gate, gateState, openGate, subjectDigest } from '../domain/gate.js';
import { Finding } from '../domain/models/diagnosis.js';
import type { RedisKeys } from './keys.js';

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
  /** Opened by the proposal, over {@link fixDigest}; one lead other than the proposer approves. */
  gate: Gate.optional(),
});
export type FindingRecord = z.infer<typeof FindingRecord>;

/** What a fix's approval is bound to: the hub, the finding and exactly the action that will run. */
export function fixDigest(record: Pick<FindingRecord, 'hub' | 'finding' | 'source' | 'peer'>): string {
  return subjectDigest({
    hub: record.hub,
    id: record.finding.id,
    check: record.finding.check,
    source: record.source,
    peer: record.peer ?? null,
    action: record.finding.action ?? null,
  });
}

/** The store; keys are {@link RedisKeys.finding} and {@link RedisKeys.findingApproved}. */
export class FindingStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<RedisKeys, 'finding' | 'findingApproved'>,
  ) {}

  private key(id: string): string {
    return this.keys.finding(id);
  }

  /**
   * Stores the findings that carry a fix action; keeps the proposal of a finding seen again with
   * the same action, and drops it (and any approval mark) when the action differs.
   */
  async saveFixable(
    hub: string,
    source: FindingRecord['source'],
    findings: readonly Finding[],
    now: Date,
    peer?: string,
  ): Promise<void> {
    for (const f of findings) {
      if (f.action === undefined) continue;
      const fresh: FindingRecord = {
        hub: HubName.parse(hub),
        finding: f,
        storedAt: now.toISOString(),
        source,
        ...(peer === undefined ? {} : { peer: PeerName.parse(peer) }),
      };
      const found = await this.get(f.id);
      const same = found !== null && fixDigest(found) === fixDigest(fresh);
      const { proposedBy, proposedAt, gate } = same ? found : {};
      const record: FindingRecord = {
        ...fresh,
        ...(proposedBy === undefined ? {} : { proposedBy }),
        ...(proposedAt === undefined ? {} : { proposedAt }),
        ...(gate === undefined ? {} : { gate }),
      };
      await this.redis.set(this.key(f.id), JSON.stringify(record), 'EX', FINDING_TTL_SEC);
      // Another action under the same id: an approval of the old one must not count for it.
      if (found !== null && !same) await this.redis.del(this.keys.findingApproved(f.id));
    }
  }

  /** The record, or null when unknown or expired. */
  async get(id: string): Promise<FindingRecord | null> {
    const raw = await this.redis.get(this.key(id));
    return raw === null ? null : FindingRecord.parse(JSON.parse(raw));
  }

  /**
   * Records who proposed the fix and opens its gate over the action as it is now (the first
   * proposer stays while the gate has not lapsed).
   */
  async propose(id: string, by: string, now: Date): Promise<FindingRecord | null> {
    const record = await this.get(id);
    if (record === null) return null;
    if (record.gate !== undefined && gateState(record.gate, now) !== 'expired') return record;
    const proposedBy = UserId.parse(by);
    const gate = openGate({
      required: 1,
      excluded: [proposedBy],
      subject: fixDigest(record),
      until: new Date(Date.parse(record.storedAt) + FINDING_TTL_SEC * 1000).toISOString(),
    });
    const next = { ...record, proposedBy, proposedAt: now.toISOString(), gate };
    await this.redis.set(this.key(id), JSON.stringify(next), 'KEEPTTL');
    return next;
  }

  /** Stores the gate with a lead's decision on it (keeps the record's TTL). */
  async saveGate(record: FindingRecord, gate: Gate): Promise<void> {
    await this.redis.set(this.key(record.finding.id), JSON.stringify({ ...record, gate }), 'KEEPTTL');
  }

  /** Marks the fix approved; false when it already was (so it is queued once). */
  async markApproved(id: string, by: string): Promise<boolean> {
    const ok = await this.redis.set(this.keys.findingApproved(id), by, 'EX', FINDING_TTL_SEC, 'NX');
    return ok === 'OK';
  }

  /** Forgets a finding once fixed. */
  async remove(id: string): Promise<void> {
    await this.redis.del(this.key(id), this.keys.findingApproved(id));
  }
}
