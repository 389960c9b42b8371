import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { TunnelgateError } from '../../../src/core/errors.js';

const HUB = `
hubs:
  - name: hub1
    host: 198.51.100.2
    user: root
    privateKeyPath: keys/id
    knownHosts: keys/known_hosts
    endpoint: vpn.example.com:51820
    subnet: 10.6.0.0/24
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, { baseDir: '/etc/tunnelgate', env });
  } catch (err) {
    expect(err).toBeInstanceOf(TunnelgateError);
    const error = err as TunnelgateError;
    expect(error.code).toBe('CONFIG_INVALID');
    return error.message.split('\n').slice(1);
  }
  throw new Error('expected the config to be refused');
}

describe('config loading', () => {
  it('fills defaults and resolves relative paths against the config folder', () => {
    const config = parseConfig(HUB, { baseDir: '/etc/tunnelgate', env: {} });
    const hub = config.hubs[0];
    expect(hub?.port).toBe(22);
    expect(hub?.interface).toBe('wg0');
    expect(hub?.configPath).toBe('/etc/wireguard/wg0.conf');
    expect(hub?.privateKeyPath).toBe('/etc/tunnelgate/keys/id');
    expect(hub?.knownHosts).toBe('/etc/tunnelgate/keys/known_hosts');
    expect(hub?.ssh.maxChannels).toBe(8);
    expect(config.policy.approvals).toEqual({ split: 1, full: 2 });
    expect(config.policy.requestTtl).toBe(72 * 3_600_000);
    expect(config.redis.prefix).toBe('tg');
    expect(config.dataDir).toBe('/etc/tunnelgate/var');
  });

  it('names a bad CIDR by its path', () => {
    expect(problems(HUB.replace('10.6.0.0/24', '10.6.0.0/33'))).toContain(
      'hubs[0].subnet: "10.6.0.0/33" is not a CIDR',
    );
  });

  it('lists every problem at once', () => {
    const text = `${HUB.replace('vpn.example.com:51820', 'nope').replace('user: root', 'user: "root; rm"')}
policy:
  requestTtl: soon
`;
    const found = problems(text);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^hubs\[0\]\.endpoint: expected host:port/),
        expect.stringMatching(/^hubs\[0\]\.user: expected a Unix user name/),
        'policy.requestTtl: "soon" is not a duration (examples: 90s, 30m, 8h, 7d)',
      ]),
    );
    expect(found).toHaveLength(3);
  });

  it('refuses a hub whose host key is not pinned', () => {
    expect(problems(HUB.replace('    knownHosts: keys/known_hosts\n', ''))).toEqual([
      'hubs[0].knownHosts: pin the host key: set knownHosts (a known_hosts file) or hostKey (one key line)',
    ]);
  });

  it('accepts trust-on-first-use only when asked for', () => {
    const text = HUB.replace('    knownHosts: keys/known_hosts\n', '    trustOnFirstUse: true\n');
    expect(parseConfig(text, { baseDir: '/', env: {} }).hubs[0]?.trustOnFirstUse).toBe(true);
  });

  it('refuses duplicate hub names and hub names with shell characters', () => {
    const twice = `${HUB}  - ${HUB.split('  - ')[1]}`;
    expect(problems(twice)).toEqual(['hubs[1].name: "hub1" is already used by hubs[0]']);
    expect(problems(HUB.replace('name: hub1', 'name: "hub1;reboot"'))[0]).toMatch(
      /^hubs\[0\]\.name: hub names are/,
    );
  });

  it('reads secrets from the environment and names a missing variable', () => {
    const text = `${HUB}slack:\n  signingSecret: \${SLACK_SIGNING_SECRET}\n`;
    expect(
      parseConfig(text, { baseDir: '/', env: { SLACK_SIGNING_SECRET: 's3cret' } }).slack?.signingSecret,
    ).toBe('s3cret');
    expect(problems(text)).toEqual([
      'slack.signingSecret: environment variable SLACK_SIGNING_SECRET is not set',
    ]);
  });

  it('refuses slack and discord together, naming the discord key', () => {
    const both = `${HUB}slack:\n  signingSecret: s\n  botToken: xoxb-1\ndiscord:\n  token: t\n  guildId: '1'\n`;
    expect(problems(both)).toEqual([
      'discord: slack and discord are both configured, but one Tunnelgate serves one chat platform (roles, approvals and DMs use its user ids): keep one of the two sections',
    ]);
    expect(
      parseConfig(`${HUB}discord:\n  token: t\n  guildId: '1'\n`, { baseDir: '/', env: {} }).discord?.token,
    ).toBe('t');
  });

  it('reports YAML syntax errors', () => {
    expect(problems('hubs: [')[0]).toMatch(/^YAML: /);
  });
});

describe('tunnelgate.example.yaml', () => {
  it('is a valid configuration, so copying it is a working start', () => {
    const text = readFileSync(new URL('../../../tunnelgate.example.yaml', import.meta.url), 'utf8');
    const config = parseConfig(text, { baseDir: '/etc/tunnelgate', env: {} });
    expect(config.hubs.map((h) => h.name)).toEqual(['hub1']);
    expect(config.roles.leads).toEqual(['alice']);
  });
});
