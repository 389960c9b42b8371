import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hmacSigner, type Signer } from '../../src/domain/signer.js';
import {
  type AuditEntry,
  type AuditRecord,
  GENESIS_MAC,
  linkMac,
  sealCheckpoint,
} from '../../src/store/audit-chain.js';
import { type AuditInput, AuditLog } from '../../src/store/audit-log.js';
import { type RedisKeys, redisKeys } from '../../src/store/keys.js';
import { type FreshPrefix, freshPrefix, redisUrl } from '../support/redis.js';

const ENTRY: AuditInput = {
  actor: 'U01LEAD',
  action: 'approve',
  hub: 'hq',
  target: 'r-7k3m9q',
  result: 'ok',
};

/** A signer like the key vault's, over random per-purpose keys (one deployment secret). */
function deploymentSigner(): Signer {
  return hmacSigner({ decision: randomBytes(32), job: randomBytes(32), audit: randomBytes(32) });
}

describe('AuditLog', () => {
  let fresh: FreshPrefix;
  let keys: RedisKeys;
  let redis: Redis;
  let signer: Signer;
  const extraClients: Redis[] = [];

  const client = (): Redis => {
    const extra = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    extraClients.push(extra);
    return extra;
  };
  const open = (connection = redis, withSigner = signer): AuditLog =>
    new AuditLog(connection, keys, withSigner);

  /** Appends `n` entries (targets `t0`…) and returns them as stored. */
  const seed = async (log: AuditLog, n: number): Promise<AuditRecord[]> => {
    const records: AuditRecord[] = [];
    for (let i = 0; i < n; i++) records.push(await log.append({ ...ENTRY, target: `t${i}` }));
    return records;
  };

  /** Streams cannot be edited: copies the stream with `edit` applied to entry `seq`, and swaps it in. */
  const rewrite = async (seq: string, edit: (fields: Record<string, string>) => Record<string, string>) => {
    const copy = `${keys.audit}:forged`;
    for (const [id, flat] of await redis.xrange(keys.audit, '-', '+')) {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
      await redis.xadd(copy, id, ...Object.entries(id === seq ? edit(fields) : fields).flat());
    }
    await redis.rename(copy, keys.audit);
  };

  beforeEach(({ task }) => {
    fresh = freshPrefix(task.name);
    keys = redisKeys(fresh.prefix);
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    signer = deploymentSigner();
  });

  afterEach(async () => {
    for (const extra of extraClients.splice(0)) extra.disconnect();
    redis.disconnect();
    await fresh.cleanup();
  });

  it('chains entries with an HMAC over the previous MAC and the canonical JSON, and keeps the head', async () => {
    const at = new Date('2025-03-01T09:30:00.000Z');
    const auditKey = randomBytes(32);
    const known = hmacSigner({ decision: randomBytes(32), job: randomBytes(32), audit: auditKey });
    const log = new AuditLog(redis, keys, known, () => at);
    const first = await log.append(ENTRY);
    const second = await log.append({ actor: 'scheduler', action: 'expire', result: 'ok', detail: 'ttl' });

    expect(first.at).toBe('2025-03-01T09:30:00.000Z');
    expect(first.prevMac).toBe(GENESIS_MAC);
    const canonical =
      '{"action":"approve","actor":"U01LEAD","at":"2025-03-01T09:30:00.000Z","hub":"hq","result":"ok","target":"r-7k3m9q"}';
    const expected = createHmac('sha256', auditKey)
      .update(`link\n${GENESIS_MAC}\n${canonical}`)
      .digest('hex');
    expect(first.mac).toBe(expected);
    expect(second.prevMac).toBe(first.mac);
    expect(await redis.get(keys.auditHead)).toBe(second.mac);
    expect(await redis.xlen(keys.audit)).toBe(2);
    expect(await log.verify()).toEqual({ intact: true, checked: 2, read: 2, checkpoint: 'none' });
  });

  it('tail returns the newest n entries, oldest first', async () => {
    const log = open();
    expect(await log.tail(5)).toEqual([]);
    const records = await seed(log, 5);

    const last3 = await log.tail(3);
    expect(last3.map((r) => r.target)).toEqual(['t2', 't3', 't4']);
    expect(last3).toEqual(records.slice(2));
    expect((await log.tail(50)).map((r) => r.target)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(await log.tail(0)).toEqual([]);
  });

  it('keeps one unbroken chain when many clients append at once', async () => {
    const writers = Array.from({ length: 8 }, () => open(client()));
    const perWriter = 25;
    const appended = await Promise.all(
      writers.flatMap((log, w) =>
        Array.from({ length: perWriter }, (_, i) =>
          log.append({ ...ENTRY, actor: `writer${w}`, target: `t${i}` }),
        ),
      ),
    );

    const total = writers.length * perWriter;
    expect(new Set(appended.map((r) => r.mac)).size).toBe(total);
    expect(await open().verify()).toMatchObject({ intact: true, checked: total });

    const all = await open().tail(total);
    expect(all).toHaveLength(total);
    all.forEach((record, i) => {
      expect(record.prevMac).toBe(i === 0 ? GENESIS_MAC : all[i - 1]?.mac);
    });
    expect(await redis.get(keys.auditHead)).toBe(all.at(-1)?.mac);
    // Each writer's own entries keep their order within the chain.
    for (let w = 0; w < writers.length; w++) {
      const mine = all.filter((r) => r.actor === `writer${w}`).map((r) => r.target);
      expect(mine).toEqual(Array.from({ length: perWriter }, (_, i) => `t${i}`));
    }
  });

  it('verifies while others append', async () => {
    const writer = open(client());
    const reader = open();
    await seed(writer, 600);
    const appending = Promise.all(Array.from({ length: 100 }, () => writer.append(ENTRY)));
    const results = await Promise.all([reader.verify(), reader.verify(), reader.verify()]);
    await appending;
    for (const result of results) expect(result.intact).toBe(true);
    expect(await reader.verify({ full: true })).toMatchObject({ intact: true, checked: 700, read: 700 });
  });

  it('names an entry rewritten in Redis with a recomputed bare hash (the old chain) as the broken link', async () => {
    const log = open();
    const records = await seed(log, 4);
    const target = records[1] as AuditRecord;
    // What the old sha256 chain allowed: change the entry and recompute its hash, no secret needed.
    await rewrite(target.seq, (fields) => {
      const { prevMac = '', mac: _mac, ...entry }: Record<string, string> = { ...fields, result: 'refused' };
      const canonical = JSON.stringify(
        Object.fromEntries(Object.entries(entry).sort(([a], [b]) => (a < b ? -1 : 1))),
      );
      return {
        ...fields,
        result: 'refused',
        mac: createHash('sha256').update(`${prevMac}\n${canonical}`).digest('hex'),
      };
    });

    expect(await log.verify()).toEqual({
      intact: false,
      checked: 1,
      read: 1,
      checkpoint: 'none',
      broken: { seq: target.seq, at: target.at, reason: expect.stringMatching(/does not match its MAC/) },
    });
  });

  it('names an entry rewritten with every later link recomputed under another secret', async () => {
    const log = open();
    const records = await seed(log, 4);
    // The attacker relinks entries 1..3 with a key of their own: each link is consistent, but not ours.
    const attacker = deploymentSigner();
    let prevMac = records[0]?.mac as string;
    for (const record of records.slice(1)) {
      await rewrite(record.seq, (fields) => {
        const { seq: _seq, prevMac: _p, mac: _m, ...entry } = { ...record, actor: 'U09MALLORY' };
        const mac = linkMac(attacker, prevMac, entry as AuditEntry);
        const out = { ...fields, actor: 'U09MALLORY', prevMac, mac };
        prevMac = mac;
        return out;
      });
    }
    await redis.set(keys.auditHead, prevMac);

    const verdict = await log.verify();
    expect(verdict).toMatchObject({
      intact: false,
      checked: 1,
      broken: { seq: records[1]?.seq, at: records[1]?.at },
    });
  });

  it('refuses a log written in the old unkeyed sha256 format, which anyone with Redis access can recompute', async () => {
    let prevHash = GENESIS_MAC;
    const ids: string[] = [];
    for (const target of ['t0', 't1']) {
      const entry = {
        action: 'approve',
        actor: 'U01LEAD',
        at: '2025-03-01T09:30:00.000Z',
        result: 'ok',
        target,
      };
      const hash = createHash('sha256')
        .update(`${prevHash}\n${JSON.stringify(entry)}`)
        .digest('hex');
      ids.push(
        (await redis.xadd(keys.audit, '*', ...Object.entries({ ...entry, prevHash, hash }).flat())) as string,
      );
      prevHash = hash;
    }
    await redis.set(keys.auditHead, prevHash);
    expect(await open().verify()).toMatchObject({
      intact: false,
      checked: 0,
      broken: {
        seq: ids[0],
        at: '2025-03-01T09:30:00.000Z',
        reason: expect.stringMatching(/old unkeyed hash/),
      },
    });
  });

  it('refuses a whole chain made with another secret, at its first entry', async () => {
    const records = await seed(open(redis, deploymentSigner()), 3);
    expect(await open().verify()).toMatchObject({
      intact: false,
      checked: 0,
      broken: { seq: records[0]?.seq, reason: expect.stringMatching(/another secret/) },
    });
  });

  it('reports a forged entry appended without the head as broken', async () => {
    const log = open();
    const records = await seed(log, 3);
    const last = records.at(-1) as AuditRecord;
    const forgedId = await redis.xadd(
      keys.audit,
      '*',
      ...['at', last.at, 'actor', 'U01LEAD', 'action', 'approve', 'result', 'ok'],
      ...['prevMac', last.mac, 'mac', 'f'.repeat(64)],
    );

    expect(await log.verify()).toMatchObject({ intact: false, checked: 3, broken: { seq: forgedId } });
  });

  it('reports deleted entries as broken, naming the entry after the gap', async () => {
    const log = open();
    const records = await seed(log, 5);
    await redis.xdel(keys.audit, records[2]?.seq as string);
    expect(await log.verify()).toMatchObject({
      intact: false,
      checked: 2,
      broken: { seq: records[3]?.seq, at: records[3]?.at, reason: expect.stringMatching(/does not link/) },
    });
  });

  it('reports a truncated tail as broken', async () => {
    const log = open();
    const records = await seed(log, 3);
    await redis.xdel(keys.audit, records[2]?.seq as string);
    expect(await log.verify()).toMatchObject({
      intact: false,
      checked: 2,
      broken: { seq: records[1]?.seq, reason: 'the head does not match the last entry' },
    });
  });

  it('refuses to append when the head was removed from a non-empty log', async () => {
    const log = open();
    await seed(log, 2);
    await redis.del(keys.auditHead);
    const other = open(client());
    await expect(other.append(ENTRY)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await redis.xlen(keys.audit)).toBe(2);
    expect(await log.verify()).toMatchObject({
      intact: false,
      checked: 2,
      broken: { reason: 'the head is missing' },
    });
  });

  it('rejects key material and invalid entries without writing', async () => {
    const log = open();
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
    expect(await redis.exists(keys.audit)).toBe(0);
  });

  describe('checkpoint', () => {
    it('advances, so the next verification reads only the entries added since', async () => {
      const log = open();
      await seed(log, 5);
      expect(await log.verify()).toEqual({ intact: true, checked: 5, read: 5, checkpoint: 'none' });
      const first = JSON.parse((await redis.get(keys.auditCheckpoint)) as string);
      expect(first).toMatchObject({ seq: (await log.tail(1))[0]?.seq, count: 5 });

      const later = await seed(log, 3);
      expect(await open(client()).verify()).toEqual({
        intact: true,
        checked: 8,
        read: 3,
        checkpoint: 'used',
      });
      expect(JSON.parse((await redis.get(keys.auditCheckpoint)) as string)).toMatchObject({
        seq: later.at(-1)?.seq,
        mac: later.at(-1)?.mac,
        count: 8,
      });
      expect(await log.verify()).toEqual({ intact: true, checked: 8, read: 0, checkpoint: 'used' });
    });

    it('still catches a break after the checkpoint', async () => {
      const log = open();
      await seed(log, 3);
      await log.verify();
      const later = await seed(log, 3);
      await redis.xdel(keys.audit, later[0]?.seq as string);
      expect(await log.verify()).toMatchObject({
        intact: false,
        checked: 3,
        read: 0,
        checkpoint: 'used',
        broken: { seq: later[1]?.seq },
      });
    });

    it('catches entries deleted before the checkpoint by their count', async () => {
      const log = open();
      const records = await seed(log, 5);
      await log.verify();
      await redis.xdel(keys.audit, records[1]?.seq as string);
      const verdict = await log.verify();
      expect(verdict).toMatchObject({
        intact: false,
        broken: { reason: expect.stringMatching(/holds 4 entries but 5/) },
      });
      expect(await log.verify({ full: true })).toMatchObject({
        intact: false,
        broken: { seq: records[2]?.seq },
      });
    });

    it('catches the entry it stopped at being rewritten', async () => {
      const log = open();
      const records = await seed(log, 3);
      await log.verify();
      const last = records.at(-1) as AuditRecord;
      await rewrite(last.seq, (fields) => ({ ...fields, result: 'refused' }));
      expect(await log.verify()).toMatchObject({
        intact: false,
        broken: { seq: last.seq, at: last.at, reason: expect.stringMatching(/does not match its MAC/) },
      });
    });

    it('misses a rewrite before the checkpoint until a full verification, which drops the checkpoint so every later one names it', async () => {
      const log = open();
      const records = await seed(log, 4);
      await log.verify();
      const old = records[1] as AuditRecord;
      await rewrite(old.seq, (fields) => ({ ...fields, result: 'refused' }));
      // The incremental check reads only what is new (here: nothing); the scheduled full one reads it all.
      expect(await log.verify()).toMatchObject({ intact: true, read: 0 });
      const broken = { seq: old.seq, at: old.at, reason: expect.stringMatching(/does not match its MAC/) };
      expect(await log.verify({ full: true })).toMatchObject({ intact: false, broken });
      expect(await redis.exists(keys.auditCheckpoint)).toBe(0);
      expect(await log.verify()).toMatchObject({ intact: false, checkpoint: 'none', broken });
    });

    it('refuses a forged checkpoint that skips a tampered part, and verifies from the start', async () => {
      const log = open();
      const records = await seed(log, 4);
      await rewrite(records[1]?.seq as string, (fields) => ({ ...fields, result: 'refused' }));
      const last = records.at(-1) as AuditRecord;
      const claim = {
        stream: keys.audit,
        seq: last.seq,
        mac: last.mac,
        count: 4,
        at: new Date().toISOString(),
      };
      // Forged with a key that is not the deployment's, and as a plain JSON claim without any MAC.
      for (const forged of [
        sealCheckpoint(deploymentSigner(), claim),
        JSON.stringify({ ...claim, sig: '0'.repeat(64) }),
      ]) {
        await redis.set(keys.auditCheckpoint, forged);
        expect(await log.verify()).toMatchObject({
          intact: false,
          checked: 1,
          checkpoint: 'refused',
          broken: { seq: records[1]?.seq },
        });
      }
    });

    it('refuses a checkpoint copied from another log, and replaces it once the chain verifies', async () => {
      const log = open();
      const records = await seed(log, 2);
      const last = records.at(-1) as AuditRecord;
      const elsewhere = {
        stream: `${keys.audit}-other`,
        seq: last.seq,
        mac: last.mac,
        count: 2,
        at: last.at,
      };
      await redis.set(keys.auditCheckpoint, sealCheckpoint(signer, elsewhere));
      expect(await log.verify()).toEqual({ intact: true, checked: 2, read: 2, checkpoint: 'refused' });
      expect(await log.verify()).toEqual({ intact: true, checked: 2, read: 0, checkpoint: 'used' });
    });
  });
});
