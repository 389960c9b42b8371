import { describe, expect, it } from 'vitest';
import { parseCommand, USAGE, VERBS } from '../../../src/bot/grammar.js';
import type { Command } from '../../../src/domain/models/command.js';

const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

function parsed(text: string): Command {
  const result = parseCommand(text);
  if (!result.ok) throw new Error(`expected "${text}" to parse, got: ${result.reply.message}`);
  return result.command;
}

function refused(text: string) {
  const result = parseCommand(text);
  if (result.ok) throw new Error(`expected "${text}" to be refused, got ${JSON.stringify(result.command)}`);
  expect(result.reply.kind).toBe('error');
  expect(result.reply.code).toBe('INPUT_INVALID');
  return result.reply;
}

describe('parseCommand: happy paths', () => {
  it('parses a full request with every option, with or without /vpn', () => {
    const text = `request laptop --hub hub1 --full --pubkey ${KEY} --for 8h --reason "on-call access"`;
    const expected = {
      verb: 'request',
      device: 'laptop',
      hub: 'hub1',
      full: true,
      pubkey: KEY,
      forMs: 8 * 3_600_000,
      reason: 'on-call access',
    };
    expect(parsed(`/vpn ${text}`)).toEqual(expected);
    expect(parsed(text)).toEqual(expected);
  });

  it('defaults a bare request to a split tunnel with no options', () => {
    expect(parsed('/vpn request laptop')).toEqual({ verb: 'request', device: 'laptop', full: false });
  });

  it('accepts single quotes, curly quotes and --option=value', () => {
    expect(parsed("request phone --reason 'travel week'")).toMatchObject({ reason: 'travel week' });
    expect(parsed('request phone --reason \u201cfrom the hotel\u201d')).toMatchObject({
      reason: 'from the hotel',
    });
    expect(parsed('request phone --hub=hub2 --for=1d12h')).toMatchObject({
      hub: 'hub2',
      forMs: 36 * 3_600_000,
    });
  });

  it('accepts options before the device name and extra whitespace', () => {
    expect(parsed('  /vpn   request  --hub hub1\tlaptop  ')).toMatchObject({ device: 'laptop', hub: 'hub1' });
  });

  it('treats empty text and a bare /vpn as help', () => {
    expect(parsed('')).toEqual({ verb: 'help' });
    expect(parsed('/vpn')).toEqual({ verb: 'help' });
  });

  it('parses help with and without a topic', () => {
    expect(parsed('help')).toEqual({ verb: 'help' });
    expect(parsed('/vpn help Request')).toEqual({ verb: 'help', topic: 'request' });
  });

  it('parses approve, revoke, offboard and status', () => {
    expect(parsed('/vpn approve r-7k3m9q')).toEqual({ verb: 'approve', requestId: 'r-7k3m9q' });
    expect(parsed('/vpn revoke alice-laptop')).toEqual({ verb: 'revoke', peer: 'alice-laptop' });
    expect(parsed('/vpn offboard alice')).toEqual({ verb: 'offboard', user: 'alice' });
    expect(parsed('/vpn status')).toEqual({ verb: 'status' });
    expect(parsed('/vpn status alice-laptop')).toEqual({ verb: 'status', peer: 'alice-laptop' });
  });

  it('parses resend with exactly one peer name', () => {
    expect(parsed('/vpn resend alice-laptop')).toEqual({ verb: 'resend', peer: 'alice-laptop' });
    expect(refused('resend').message).toContain('resend needs a peer name');
    expect(refused('resend alice-laptop bob-phone').message).toContain('one peer name');
  });

  it('takes the user id out of a Slack or Discord mention for offboard', () => {
    expect(parsed('offboard <@U024BE7LH|alice>')).toEqual({ verb: 'offboard', user: 'U024BE7LH' });
    expect(parsed('offboard <@!123456789012345678>')).toEqual({
      verb: 'offboard',
      user: '123456789012345678',
    });
  });

  it('takes the rest of the line as the deny reason', () => {
    expect(parsed('/vpn deny r-7k3m9q not needed anymore')).toEqual({
      verb: 'deny',
      requestId: 'r-7k3m9q',
      reason: 'not needed anymore',
    });
    expect(parsed("deny r-7k3m9q don't need it; use the bastion")).toMatchObject({
      reason: "don't need it; use the bastion",
    });
    expect(parsed('deny r-7k3m9q "quoted reason"')).toMatchObject({ reason: 'quoted reason' });
    expect(parsed('deny r-7k3m9q --reason dup')).toMatchObject({ reason: 'dup' });
    expect(parsed('deny r-7k3m9q')).toEqual({ verb: 'deny', requestId: 'r-7k3m9q' });
  });

  it('defaults list to mine and log to 20', () => {
    expect(parsed('list')).toEqual({ verb: 'list', scope: 'mine' });
    expect(parsed('list pending')).toEqual({ verb: 'list', scope: 'pending' });
    expect(parsed('log')).toEqual({ verb: 'log', count: 20 });
    expect(parsed('log 50')).toEqual({ verb: 'log', count: 50 });
  });

  it('accepts the subcommand in any case', () => {
    expect(parsed('/vpn LIST all')).toEqual({ verb: 'list', scope: 'all' });
  });
});

describe('parseCommand: errors', () => {
  it('lists the subcommands for an unknown one', () => {
    const reply = refused('/vpn reqest laptop');
    expect(reply.message).toContain('unknown subcommand "reqest"');
    for (const verb of VERBS) expect(reply.message).toContain(verb);
    expect(reply.usage).toBeUndefined();
  });

  it("shows the subcommand's usage line with every error", () => {
    expect(refused('request').usage).toBe(USAGE.request.usage);
    expect(refused('approve').usage).toBe(USAGE.approve.usage);
    expect(refused('log x').usage).toBe(USAGE.log.usage);
  });

  it('names an unknown option', () => {
    const reply = refused('request laptop --hubb hub1');
    expect(reply.message).toContain('unknown option "--hubb"');
    expect(reply.message).toContain('--hub');
  });

  it('refuses options on subcommands that take none', () => {
    expect(refused('approve r-7k3m9q --force').message).toContain(
      'unknown option "--force": approve takes no options',
    );
  });

  it('names an option that is missing its value', () => {
    expect(refused('request laptop --hub').message).toBe('--hub needs a value: --hub NAME');
    expect(refused('request laptop --for --full').message).toBe('--for needs a value: --for DURATION');
  });

  it('refuses a value on --full and a repeated option', () => {
    expect(refused('request laptop --full=yes --reason x').message).toBe('--full takes no value');
    expect(refused('request laptop --hub a --hub b').message).toContain('--hub is given twice');
  });

  it('names an extra argument and suggests quotes after --reason', () => {
    expect(refused('approve r-7k3m9q r-aaaaaa').message).toContain('unexpected argument "r-aaaaaa"');
    const reply = refused('request laptop --reason on-call access');
    expect(reply.message).toContain('unexpected argument "access"');
    expect(reply.message).toContain('--reason "on-call access"');
  });

  it('names a bad device name and says what is allowed', () => {
    const reply = refused('request "lap top"');
    expect(reply.message).toMatch(/^"lap top" is not a valid device name: device names are 1-24 characters/);
    expect(refused('request Laptop').message).toContain('"Laptop" is not a valid device name');
  });

  it('asks for the missing device, request id, peer and user', () => {
    expect(refused('request').message).toContain('request needs a device name');
    expect(refused('approve').message).toContain('approve needs a request id');
    expect(refused('deny').message).toContain('deny needs a request id');
    expect(refused('revoke').message).toContain('revoke needs a peer name');
    expect(refused('offboard').message).toContain('offboard needs a user');
  });

  it('names a bad request id, peer, user, scope and count', () => {
    expect(refused('approve 7k3m9q').message).toContain(
      '"7k3m9q" is not a valid id: ids to approve or deny look like r-7k3m9q (requests), x-… (extensions) or k-… (key changes)',
    );
    expect(refused('deny R-7K3M9Q').message).toContain('"R-7K3M9Q" is not a valid id');
    expect(refused('revoke Alice_Laptop!').message).toContain('"Alice_Laptop!" is not a valid peer name');
    expect(refused('offboard @alice').message).toContain('"@alice" is not a valid user id');
    expect(refused('list everyone').message).toBe('"everyone" is not a list scope: use mine, pending or all');
    expect(refused('log 0').message).toContain('"0" is not a valid count');
    expect(refused('log 201').message).toContain('"201" is not a valid count');
    expect(refused('log 1.5').message).toContain('"1.5" is not a valid count');
  });

  it('names a bad public key', () => {
    const reply = refused('request laptop --pubkey abc');
    expect(reply.message).toContain('"abc"');
    expect(reply.message).toContain('not a WireGuard key');
    // 44 characters but not a canonical 32-byte encoding.
    expect(refused(`request laptop --pubkey ${KEY.slice(0, 42)}h=`).message).toContain('not a WireGuard key');
  });

  it('names a bad duration', () => {
    expect(refused('request laptop --for 8hours').message).toBe(
      '"8hours" is not a valid duration: use e.g. 30m, 8h, 7d or 1d12h',
    );
    expect(refused('request laptop --for 0h').message).toContain('"0h" is not a valid duration');
  });

  it('requires a reason for a full tunnel', () => {
    expect(refused('request laptop --full').message).toBe(
      'full tunnel needs --reason: say why this device should route all traffic through the VPN',
    );
  });

  it('refuses an empty or overlong reason', () => {
    expect(refused('request laptop --reason ""').message).toContain('the reason is empty');
    expect(refused(`request laptop --reason "${'x'.repeat(301)}"`).message).toContain('keep it to 300');
  });

  it('refuses an unknown help topic', () => {
    expect(refused('help vpn').message).toContain('unknown help topic "vpn"');
  });

  it('reports an unterminated quote', () => {
    expect(refused('request laptop --reason "on-call').message).toContain('unterminated " quote');
  });

  it('refuses text that is far too long', () => {
    expect(refused(`deny r-7k3m9q ${'x'.repeat(1_000)}`).message).toContain('keep it to 1000 at most');
  });
});

describe('parseCommand: injection attempts', () => {
  it.each([
    'request laptop;reboot',
    'request $(reboot)',
    'request `reboot`',
    'request "laptop && reboot"',
    'request \'lap\'"top"x;y',
  ])('rejects shell syntax in a device name: %s', (text) => {
    expect(refused(text).message).toContain('is not a valid device name');
  });

  it('rejects shell syntax in a key, peer and user', () => {
    expect(refused(`request laptop --pubkey "${KEY.slice(0, 40)};rm="`).message).toContain(
      'not a WireGuard key',
    );
    expect(refused('revoke "alice-laptop; wg-quick down wg0"').message).toContain('is not a valid peer name');
    expect(refused('offboard "$(id)"').message).toContain('is not a valid user id');
  });

  it('rejects line breaks and control characters anywhere', () => {
    expect(refused('request laptop\nrevoke bob-phone').message).toContain('commands are one line');
    expect(refused('deny r-7k3m9q fine\r\nrm -rf /').message).toContain('commands are one line');
    expect(refused('request laptop --reason "a\u0007b"').message).toContain('commands are one line');
    expect(refused('request laptop --reason "evil\u202etxt"').message).toContain('commands are one line');
  });

  it('keeps shell syntax in a reason as inert text', () => {
    const reason = 'need it; $(reboot) `id` && echo "hi"';
    expect(parsed(`request laptop --reason '${reason}'`)).toMatchObject({ reason });
    expect(parsed(`deny r-7k3m9q ${reason}`)).toMatchObject({ reason });
  });
});
