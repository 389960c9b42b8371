import { describe, expect, it } from 'vitest';
import {
  commandFromInvocation,
  vpnCommandDefinition,
} from '../../../../src/adapters/discord/slash-command.js';
import { TunnelgateConfig } from '../../../../src/config/schema.js';
import { thrownError } from '../../../support/errors.js';

const config = TunnelgateConfig.parse({
  hubs: ['hub1', 'hub2'].map((name, i) => ({
    name,
    host: `10.0.0.${i + 1}`,
    user: 'root',
    privateKeyPath: '/k',
    hostKey: 'ssh-ed25519 AAAA',
    endpoint: `vpn${i}.example.com:51820`,
    subnet: `10.6${i}.0.0/24`,
  })),
});
const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

describe('the /vpn application command', () => {
  it('has a subcommand per verb, typed options, and the hubs as choices', () => {
    const definition = vpnCommandDefinition(config);
    const subs = Object.fromEntries((definition.options ?? []).map((o) => [o.name, o]));
    expect(Object.keys(subs)).toEqual(
      expect.arrayContaining([
        'request',
        'approve',
        'deny',
        'revoke',
        'offboard',
        'list',
        'status',
        'log',
        'diagnose',
        'audit',
        'fix',
        'rotate',
        'extend',
        'reconcile',
        'adopt',
        'help',
      ]),
    );
    const adopt = subs.adopt as { options: { name: string; type: number; required?: boolean }[] };
    expect(adopt.options.map((o) => [o.name, o.type, o.required ?? false])).toEqual([
      ['hub', 3, true],
      ['key_prefix', 3, true],
      ['owner', 6, true],
      ['name', 3, true],
    ]);
    const request = subs.request as {
      options: { name: string; type: number; required?: boolean; choices?: unknown[] }[];
    };
    expect(request.options.map((o) => [o.name, o.type, o.required ?? false])).toEqual([
      ['device', 3, true],
      ['hub', 3, false],
      ['full', 5, false],
      ['pubkey', 3, false],
      ['for', 3, false],
      ['reason', 3, false],
    ]);
    expect(request.options[1]?.choices).toEqual([
      { name: 'hub1', value: 'hub1' },
      { name: 'hub2', value: 'hub2' },
    ]);
    const offboard = subs.offboard as { options: { name: string; type: number }[] };
    expect(offboard.options[0]).toMatchObject({ name: 'user', type: 6 });
    const list = subs.list as { options: { choices: { value: string }[] }[] };
    expect(list.options[0]?.choices.map((c) => c.value)).toEqual(['mine', 'pending', 'all']);
  });

  it('types the options of diagnose, audit and fix', () => {
    const definition = vpnCommandDefinition(config);
    const optionsOf = (name: string) =>
      (
        (definition.options ?? []).find((o) => o.name === name) as {
          options: { name: string; type: number; required?: boolean; choices?: unknown[] }[];
        }
      ).options.map((o) => [o.name, o.type, o.required ?? false, o.choices?.length ?? 0]);
    expect(optionsOf('diagnose')).toEqual([['target', 3, true, 0]]);
    expect(optionsOf('audit')).toEqual([['hub', 3, false, 2]]);
    expect(optionsOf('fix')).toEqual([
      ['finding_id', 3, true, 0],
      ['approve', 5, false, 0],
    ]);
  });
});

describe('commandFromInvocation', () => {
  it('maps reconcile to an optional hub and adopt to its prefix, owner and device name', () => {
    expect(commandFromInvocation({ subcommand: 'reconcile', options: {} })).toEqual({ verb: 'reconcile' });
    expect(commandFromInvocation({ subcommand: 'reconcile', options: { hub: 'hub2' } })).toEqual({
      verb: 'reconcile',
      hub: 'hub2',
    });
    expect(
      commandFromInvocation({
        subcommand: 'adopt',
        options: { hub: 'hub1', key_prefix: 'xTIBA5rb', owner: 'U123', name: 'office-gw' },
      }),
    ).toEqual({ verb: 'adopt', hub: 'hub1', keyPrefix: 'xTIBA5rb', owner: 'U123', device: 'office-gw' });
    const bad = thrownError(() =>
      commandFromInvocation({
        subcommand: 'adopt',
        options: { hub: 'hub1', key_prefix: 'xTIBA5rb', owner: 'U123', name: 'Office GW' },
      }),
    );
    expect(bad?.message).toMatch(/^\/vpn adopt: name: device names are/);
  });

  it('builds a request from typed options, durations in milliseconds', () => {
    expect(
      commandFromInvocation({
        subcommand: 'request',
        options: { device: 'laptop', hub: 'hub2', full: true, pubkey: KEY, for: '8h', reason: ' on call ' },
      }),
    ).toEqual({
      verb: 'request',
      device: 'laptop',
      hub: 'hub2',
      full: true,
      pubkey: KEY,
      forMs: 28_800_000,
      reason: 'on call',
    });
  });

  it('builds a breakglass from typed options', () => {
    expect(
      commandFromInvocation({
        subcommand: 'breakglass',
        options: { hub: 'hub1', incident: 'PT4KHLK', for: '2h' },
      }),
    ).toEqual({ verb: 'breakglass', hub: 'hub1', incident: 'PT4KHLK', full: false, forMs: 7_200_000 });
    expect(() =>
      commandFromInvocation({ subcommand: 'breakglass', options: { hub: 'hub1', incident: 'a b' } }),
    ).toThrow(/incident ids are/);
  });

  it('maps snake_case options to the command model', () => {
    expect(commandFromInvocation({ subcommand: 'approve', options: { request_id: 'r-7k3m9q' } })).toEqual({
      verb: 'approve',
      requestId: 'r-7k3m9q',
    });
    expect(
      commandFromInvocation({ subcommand: 'offboard', options: { user: '500000000000000003' } }),
    ).toEqual({
      verb: 'offboard',
      user: '500000000000000003',
    });
    expect(commandFromInvocation({ subcommand: 'list', options: {} })).toEqual({
      verb: 'list',
      scope: 'mine',
    });
    expect(commandFromInvocation({ subcommand: 'log', options: { count: 5 } })).toEqual({
      verb: 'log',
      count: 5,
    });
  });

  it('maps diagnose to its target, audit to an optional hub, and fix to a finding id and approval', () => {
    expect(commandFromInvocation({ subcommand: 'diagnose', options: { target: 'hub1' } })).toEqual({
      verb: 'diagnose',
      target: 'hub1',
    });
    expect(
      commandFromInvocation({ subcommand: 'diagnose', options: { target: '500000000000000003-laptop' } }),
    ).toEqual({ verb: 'diagnose', target: '500000000000000003-laptop' });
    expect(commandFromInvocation({ subcommand: 'audit', options: {} })).toEqual({ verb: 'audit' });
    expect(commandFromInvocation({ subcommand: 'audit', options: { hub: 'hub2' } })).toEqual({
      verb: 'audit',
      hub: 'hub2',
    });
    expect(commandFromInvocation({ subcommand: 'fix', options: { finding_id: 'f-3k9m2q7a' } })).toEqual({
      verb: 'fix',
      findingId: 'f-3k9m2q7a',
      approve: false,
    });
    expect(
      commandFromInvocation({ subcommand: 'fix', options: { finding_id: 'f-3k9m2q7a', approve: true } }),
    ).toEqual({ verb: 'fix', findingId: 'f-3k9m2q7a', approve: true });
  });

  it('rejects invalid diagnose, audit and fix values, naming the Discord option', () => {
    const fix = thrownError(() =>
      commandFromInvocation({ subcommand: 'fix', options: { finding_id: 'f-1; reboot' } }),
    );
    expect(fix.code).toBe('INPUT_INVALID');
    expect(fix.message).toContain('finding_id');
    expect(fix.hint).toContain('/vpn help');
    for (const invocation of [
      { subcommand: 'fix', options: {} },
      { subcommand: 'diagnose', options: {} },
      { subcommand: 'diagnose', options: { target: '$(reboot)' } },
      { subcommand: 'audit', options: { hub: 'Hub One' } },
    ]) {
      expect(thrownError(() => commandFromInvocation(invocation)).code, JSON.stringify(invocation)).toBe(
        'INPUT_INVALID',
      );
    }
  });

  it('rejects what the command schema rejects, naming the field', () => {
    const bad = thrownError(() =>
      commandFromInvocation({ subcommand: 'request', options: { device: 'lap;touch /tmp/x' } }),
    );
    expect(bad.message).toContain('device');
    expect(bad.code).toBe('INPUT_INVALID');
    for (const invocation of [
      { subcommand: 'approve', options: { request_id: 'r-1; reboot' } },
      { subcommand: 'request', options: { device: 'laptop', pubkey: '$(id)' } },
      { subcommand: 'revoke', options: { peer: '../etc' } },
    ]) {
      expect(thrownError(() => commandFromInvocation(invocation)).code).toBe('INPUT_INVALID');
    }
  });

  it('asks for a reason for a full tunnel and a valid duration', () => {
    expect(
      thrownError(() =>
        commandFromInvocation({ subcommand: 'request', options: { device: 'laptop', full: true } }),
      ).message,
    ).toContain('reason');
    expect(
      thrownError(() =>
        commandFromInvocation({ subcommand: 'request', options: { device: 'laptop', for: 'soon' } }),
      ).hint,
    ).toContain('8h');
  });
});
