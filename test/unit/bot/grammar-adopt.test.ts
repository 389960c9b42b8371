import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/bot/grammar.js';

const key = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

describe('reconcile and adopt grammar', () => {
  it('parses reconcile with and without a hub', () => {
    expect(parseCommand('/vpn reconcile')).toEqual({ ok: true, command: { verb: 'reconcile' } });
    expect(parseCommand('/vpn reconcile hub1')).toEqual({
      ok: true,
      command: { verb: 'reconcile', hub: 'hub1' },
    });
    const extra = parseCommand('/vpn reconcile hub1 hub2');
    expect(!extra.ok && extra.reply.message).toContain('reconcile takes one hub name');
  });

  it('parses adopt with a key prefix, an owner (also a mention) and a device name', () => {
    expect(parseCommand('/vpn adopt hub1 xTIBA5rb --owner alice --name office-gw')).toEqual({
      ok: true,
      command: { verb: 'adopt', hub: 'hub1', keyPrefix: 'xTIBA5rb', owner: 'alice', device: 'office-gw' },
    });
    expect(parseCommand(`/vpn adopt hub1 ${key} --name=gw --owner=<@U123ABC>`)).toEqual({
      ok: true,
      command: { verb: 'adopt', hub: 'hub1', keyPrefix: key, owner: 'U123ABC', device: 'gw' },
    });
  });

  it('refuses a missing owner or name, a bad prefix, an unknown option and extra arguments', () => {
    const message = (line: string) => {
      const parsed = parseCommand(line);
      return parsed.ok ? 'parsed' : parsed.reply.message;
    };
    expect(message('/vpn adopt hub1 xTIBA5rb --name gw')).toContain('adopt needs --owner USER');
    expect(message('/vpn adopt hub1 xTIBA5rb --owner alice')).toContain('adopt needs --name DEVICE');
    expect(message('/vpn adopt hub1 --owner alice --name gw')).toContain(
      'adopt needs a hub and a key prefix',
    );
    expect(message('/vpn adopt hub1 xT.* --owner alice --name gw')).toContain('is not a valid key prefix');
    expect(message('/vpn adopt hub1 xTI --owner alice --name gw')).toContain('is not a valid key prefix');
    expect(message('/vpn adopt hub1 xTIBA5rb --owner alice --name "Office GW"')).toContain(
      'not a valid device name',
    );
    expect(message('/vpn adopt hub1 xTIBA5rb --owner alice --name gw --force')).toContain(
      'unknown option "--force"',
    );
    expect(message('/vpn adopt hub1 xTIBA5rb extra --owner alice --name gw')).toContain(
      'adopt takes one hub and one key prefix',
    );
    expect(message('/vpn adopt hub1 xTIBA5rb --owner a --owner b --name gw')).toContain(
      '--owner is given twice',
    );
    const bad = parseCommand('/vpn adopt hub1');
    expect(!bad.ok && bad.reply.usage).toBe('/vpn adopt <hub> <key-prefix> --owner USER --name DEVICE');
  });
});
