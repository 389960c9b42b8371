import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/bot/grammar.js';

const key = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

describe('rotate and extend grammar', () => {
  it('parses rotate with and without --pubkey', () => {
    expect(parseCommand('/vpn rotate bob-laptop')).toEqual({
      ok: true,
      command: { verb: 'rotate', peer: 'bob-laptop' },
    });
    expect(parseCommand(`/vpn rotate bob-laptop --pubkey ${key}`)).toEqual({
      ok: true,
      command: { verb: 'rotate', peer: 'bob-laptop', pubkey: key },
    });
    expect(parseCommand(`/vpn rotate --pubkey=${key} bob-laptop`)).toMatchObject({ ok: true });
  });

  it('rejects a bad key, an unknown option and a second peer, naming the problem', () => {
    const bad = parseCommand('/vpn rotate bob-laptop --pubkey "$(id)"');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reply.message).toContain('not a WireGuard key');
    expect(!bad.ok && bad.reply.usage).toBe('/vpn rotate <peer> [--pubkey KEY]');
    const option = parseCommand('/vpn rotate bob-laptop --force');
    expect(!option.ok && option.reply.message).toContain('unknown option "--force"');
    const extra = parseCommand('/vpn rotate bob-laptop bob-phone');
    expect(!extra.ok && extra.reply.message).toContain('rotate takes one peer name');
  });

  it('parses extend with a duration and refuses a missing or bad one', () => {
    expect(parseCommand('/vpn extend bob-laptop 4h')).toEqual({
      ok: true,
      command: { verb: 'extend', peer: 'bob-laptop', forMs: 4 * 3_600_000 },
    });
    const missing = parseCommand('/vpn extend bob-laptop');
    expect(!missing.ok && missing.reply.message).toContain('needs a duration');
    const bad = parseCommand('/vpn extend bob-laptop soon');
    expect(!bad.ok && bad.reply.message).toContain('not a valid duration');
  });
});
