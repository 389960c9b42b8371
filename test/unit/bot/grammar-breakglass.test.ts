import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/bot/grammar.js';

describe('breakglass grammar', () => {
  it('parses the hub, the incident and the options', () => {
    expect(parseCommand('/vpn breakglass hub1 --incident PT4KHLK')).toEqual({
      ok: true,
      command: { verb: 'breakglass', hub: 'hub1', incident: 'PT4KHLK', full: false },
    });
    expect(parseCommand('breakglass hub1 --incident=PT4KHLK --for 2h --full --reason "db is down"')).toEqual({
      ok: true,
      command: {
        verb: 'breakglass',
        hub: 'hub1',
        incident: 'PT4KHLK',
        full: true,
        forMs: 7_200_000,
        reason: 'db is down',
      },
    });
  });

  it('refuses a missing incident or hub, an unknown option and a bad incident id, naming the problem', () => {
    const message = (text: string) => {
      const parsed = parseCommand(text);
      return parsed.ok ? '' : parsed.reply.message;
    };
    expect(message('/vpn breakglass hub1')).toMatch(/needs --incident/);
    expect(message('/vpn breakglass --incident PT1')).toMatch(/needs a hub/);
    expect(message('/vpn breakglass hub1 --incident PT1 --now')).toMatch(/unknown option "--now"/);
    expect(message('/vpn breakglass hub1 --incident "P T;1"')).toMatch(/incident ids are/);
    expect(message('/vpn breakglass hub1 --incident PT1 --full=yes')).toMatch(/--full takes no value/);
  });
});
