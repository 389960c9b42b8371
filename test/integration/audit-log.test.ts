import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  type AuditInput,
  AuditLog,
  type AuditRecord,
  chainHash,
  GENESIS_HASH,
} from '../../src/store/audit-log.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../support/redis.js';

const ENTRY: AuditInput = {
  actor: 'U01LEAD',
  action: 'approve',
  hub: 'hq',
  target: 'r-7k3m9q',
  result: 'ok',
};

describe('AuditLog', () => {
  let keys: FreshPrefix;
  let redis: Redis;
  const extraClients: Redis[] = [];

  const client = (): Redis => {
    const extra = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    extraClients.push(extra);
    return extra;
  };
  const stream = (): string => `${keys.prefix}:audit`;

  /** Appends `n` entries (targets `t0`…) and returns them as stored. */
  const seed = async (log: AuditLog, n: number): Promise<AuditRecord[]> => {
    const records: AuditRecord[] = [];
    for (let i = 0; i < n; i++) records.push(await log.append({ ...ENTRY, target: `t${i}` }));
    return records;
  };

  beforeEach(({ task }) => {
    keys = freshPrefix(task.name);
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  });

  afterEach(async () => {
    for (const extra of extraClients.splice(0)) extra.disconnect();
    redis.disconnect();
    await keys.cleanup();
  });

  it('chains entries with sha256(prevHash + "\\n" + canonical JSON) and keeps the head', async () => {
    const at = new Date('2025-03-01T09:30:00.000Z');
    const log = new AuditLog(redis, keys.prefix, () => at);
    const first = await log.append(ENTRY);
    const second = await log.append({ actor: 'scheduler', action: 'expire', result: 'ok', detail: 'ttl' });

    expect(first.at).toBe('2025-03-01T09:30:00.000Z');
    expect(first.prevHash).toBe(GENESIS_HASH);
    const canonical =
      '{"action":"approve","actor":"U01LEAD","at":"2025-03-01T09:30:00.000Z","hub":"hq","result":"ok","target":"r-7k3m9q"}';
    expect(first.hash).toBe(createHash('sha256').update(`${GENESIS_HASH}\n${canonical}`).digest('hex'));
    expect(second.prevHash).toBe(first.hash);
    expect(await redis.get(`${keys.prefix}:audit:head`)).toBe(second.hash);
    expect(await redis.xlen(stream())).toBe(2);
    expect(await log.verify()).toEqual({ intact: true, checked: 2 });
  });

  it('tail returns the newest n entries, oldest first', async () => {
    const log = new AuditLog(redis, keys.prefix);
    expect(await log.tail(5)).toEqual([]);
    const records = await seed(log, 5);

    const last3 = await log.tail(3);
    expect(last3.map((r) => r.target)).toEqual(['t2', 't3', 't4']);
    expect(last3).toEqual(records.slice(2));
    expect((await log.tail(50)).map((r) => r.target)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(await log.tail(0)).toEqual([]);
  });

  it('keeps one unbroken chain when many clients append at once', async () => {
    const writers = Array.from({ length: 8 }, () => new AuditLog(client(), keys.prefix));
    const perWriter = 25;
    const appended = await Promise.all(
      writers.flatMap((log, w) =>
        Array.from({ length: perWriter }, (_, i) =>
          log.append({ ...ENTRY, actor: `writer${w}`, target: `t${i}` }),
        ),
      ),
    );

    const total = writers.length * perWriter;
    expect(new Set(appended.map((r) => r.hash)).size).toBe(total);
    expect(await new AuditLog(redis, keys.prefix).verify()).toEqual({ intact: true, checked: total });

    const all = await new AuditLog(redis, keys.prefix).tail(total);
    expect(all).toHaveLength(total);
    all.forEach((record, i) => {
      expect(record.prevHash).toBe(i === 0 ? GENESIS_HASH : all[i - 1]?.hash);
    });
    expect(await redis.get(`${keys.prefix}:audit:head`)).toBe(all.at(-1)?.hash);
    // Each writer's own entries keep their order within the chain.
    for (let w = 0; w < writers.length; w++) {
      const mine = all.filter((r) => r.actor === `writer${w}`).map((r) => r.target);
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => `t${i}`));
    }
  });

  it('verifies while others append', async () => {
    const writer = new AuditLog(client(), keys.prefix);
    const reader = new AuditLog(redis, keys.prefix);
    await seed(writer, 600);
    const appending = Promise.all(Array.from({ length: 100 }, () => writer.append(ENTRY)));
    const results = await Promise.all([reader.verify(), reader.verify(), reader.verify()]);
    await appending;
    for (const result of results) expect(result.intact).toBe(true);
    expect(await reader.verify()).toEqual({ intact: true, checked: 700 });
  });

  it('reports an entry rewritten in place as broken', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const records = await seed(log, 4);
    // Streams cannot be edited, so copy the stream with one field changed and swap it in.
    const copy = `${keys.prefix}:audit:forged`;
    for (const [id, fields] of await redis.xrange(stream(), '-', '+')) {
      const changed = id === records[1]?.seq ? fields.map((f) => (f === 'ok' ? 'refused' : f)) : fields;
      await redis.xadd(copy, id, ...changed);
    }
    await redis.rename(copy, stream());

    expect(await log.verify()).toMatchObject({ intact: false, checked: 1, brokenAt: records[1]?.seq });
  });

  it('reports a forged entry appended without the head as broken', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const records = await seed(log, 3);
    const last = records.at(-1) as AuditRecord;
    const forgedId = await redis.xadd(
      stream(),
      '*',
      ...['at', last.at, 'actor', 'U01LEAD', 'action', 'approve', 'result', 'ok'],
      ...['prevHash', last.hash, 'hash', 'f'.repeat(64)],
    );

    expect(await log.verify()).toMatchObject({ intact: false, checked: 3, brokenAt: forgedId });
  });

  it('reports a correctly hashed forgery that did not move the head as broken', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const records = await seed(log, 3);
    const prevHash = (records.at(-1) as AuditRecord).hash;
    const entry: AuditEntry = {
      at: '2025-03-01T10:00:00.000Z',
      actor: 'U01LEAD',
      action: 'approve',
      result: 'ok',
      detail: 'forged',
    };
    const forgedId = await redis.xadd(
      stream(),
      '*',
      ...['at', entry.at, 'actor', entry.actor, 'action', entry.action, 'result', entry.result],
      ...['detail', 'forged', 'prevHash', prevHash, 'hash', chainHash(prevHash, entry)],
    );

    expect(await log.verify()).toEqual({
      intact: false,
      checked: 4,
      brokenAt: forgedId,
      reason: 'the head does not match the last entry',
    });
  });

  it('reports deleted entries as broken', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const records = await seed(log, 5);
    await redis.xdel(stream(), records[2]?.seq as string);
    expect(await log.verify()).toMatchObject({ intact: false, checked: 2, brokenAt: records[3]?.seq });
  });

  it('reports a truncated tail as broken', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const records = await seed(log, 3);
    await redis.xdel(stream(), records[2]?.seq as string);
    expect(await log.verify()).toMatchObject({ intact: false, checked: 2, brokenAt: records[1]?.seq });
  });

  it('refuses to append when the head was removed from a non-empty log', async () => {
    const log = new AuditLog(redis, keys.prefix);
    await seed(log, 2);
    await redis.del(`${keys.prefix}:audit:head`);
    const fresh = new AuditLog(client(), keys.prefix);
    await expect(fresh.append(ENTRY)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await redis.xlen(stream())).toBe(2);
    expect(await log.verify()).toMatchObject({ intact: false, checked: 2, reason: 'the head is missing' });
  });

  it('rejects key material and invalid entries without writing', async () => {
    const log = new AuditLog(redis, keys.prefix);
    const leaky = '[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
    await expect(log.append({ ...ENTRY, detail: leaky })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(log.append({ ...ENTRY, detail: 'privatekey=abc' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(log.append({ ...ENTRY, action: 'Approve!' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    await expect(log.append({ ...ENTRY, detail: 'x'.repeat(501) })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(await redis.exists(stream())).toBe(0);
  });
});
