import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { TunnelgateConfig } from '../../../src/config/schema.js';
import { keysAt, suggestKey } from '../../../src/config/unknown-keys.js';
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

/** The CONFIG_INVALID problem lines for `text` (fails when it is accepted or fails otherwise). */
function problems(text: string): string[] {
  let error: unknown;
  try {
    parseConfig(text, { baseDir: '/etc/tunnelgate', env: {} });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(TunnelgateError);
  expect((error as TunnelgateError).code).toBe('CONFIG_INVALID');
  return (error as TunnelgateError).message.split('\n').slice(1);
}

describe('unknown config keys', () => {
  it('refuses a misspelt top-level key (hubz, polcy) with its path and the key meant', () => {
    expect(problems(`${HUB}polcy:\n  requestTtl: 1h\n`)).toEqual([
      'polcy: unknown key; did you mean "policy"?',
    ]);
    expect(problems(HUB.replace('hubs:', 'hubz:'))).toContain('hubz: unknown key; did you mean "hubs"?');
  });

  it('refuses a misspelt hub key (trustOnFirstuse) instead of starting with the pinning default', () => {
    const text = `${HUB}    trustOnFirstuse: true\n`;
    expect(problems(text)).toContain('hubs[0].trustOnFirstuse: unknown key; did you mean "trustOnFirstUse"?');
  });

  it('refuses roles.lead, which would leave the deployment without leads', () => {
    expect(problems(`${HUB}roles:\n  lead: [U1]\n`)).toEqual([
      'roles.lead: unknown key; did you mean "leads"?',
    ]);
  });

  it('lists the known keys when nothing is close, and refuses unknown keys in nested sections', () => {
    expect(problems(`${HUB}frobnicate: 1\n`)[0]).toMatch(
      /^frobnicate: unknown key; expected one of: redis, hubs, /,
    );
    expect(problems(`${HUB}policy:\n  approvals:\n    ful: 3\n`)).toEqual([
      'policy.approvals.ful: unknown key; did you mean "full"?',
    ]);
    expect(problems(`${HUB}    ssh:\n      maxChanels: 4\n`)).toEqual([
      'hubs[0].ssh.maxChanels: unknown key; did you mean "maxChannels"?',
    ]);
  });

  it('has no object in the schema that silently drops unknown keys', () => {
    const loose: string[] = [];
    const walk = (node: { _zod: { def: Record<string, unknown> } }, where: string): void => {
      const def = node._zod.def;
      const inner = (def.innerType ?? def.in ?? def.element) as typeof node | undefined;
      if (inner !== undefined) walk(inner, where);
      if (def.type !== 'object') return;
      const catchall = def.catchall as typeof node | undefined;
      if (catchall?._zod.def.type !== 'never') loose.push(where || '(root)');
      for (const [key, child] of Object.entries(def.shape as Record<string, typeof node>)) {
        walk(child, where ? `${where}.${key}` : key);
      }
    };
    walk(TunnelgateConfig as never, '');
    expect(loose).toEqual([]);
    expect(keysAt(TunnelgateConfig, ['hubs', 0, 'ssh'])).toContain('maxChannels');
  });

  it('suggests only a close key', () => {
    expect(suggestKey('dataDIR', ['dataDir', 'redis'])).toBe('dataDir');
    expect(suggestKey('webhook', ['dataDir', 'redis'])).toBeUndefined();
  });
});

describe('hostile YAML', () => {
  it('turns a YAML alias bomb into a config error, not a stack trace', () => {
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [name, prev] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ]) {
      rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const found = problems(`${rows.join('\n')}\n`);
    expect(found).toEqual([expect.stringMatching(/^YAML: Excessive alias count/)]);
  });

  it('reports an alias with no anchor as a config error', () => {
    expect(problems(`${HUB}dataDir: *nowhere\n`)).toEqual([expect.stringMatching(/^YAML: Unresolved alias/)]);
  });
});

describe('interface names', () => {
  it('refuses an interface that wg, ip and nft would read as an option (-h)', () => {
    expect(problems(`${HUB}    interface: -h\n`)).toEqual([
      expect.stringMatching(/^hubs\[0\]\.interface: .*not starting with "-"/),
    ]);
    expect(problems(`${HUB}    egressInterface: --all\n`)).toEqual([
      expect.stringMatching(/^hubs\[0\]\.egressInterface: /),
    ]);
  });

  it('refuses spaces, slashes and names longer than 15 characters, and keeps usual names', () => {
    for (const bad of ['"wg 0"', 'wg/0', 'a234567890123456', '""']) {
      expect(problems(`${HUB}    interface: ${bad}\n`)[0]).toMatch(/^hubs\[0\]\.interface: /);
    }
    for (const good of ['wg0', 'wg-office', 'tun_1', 'a23456789012345']) {
      const config = parseConfig(`${HUB}    interface: ${good}\n`, { baseDir: '/etc/tunnelgate', env: {} });
      expect(config.hubs[0]?.interface).toBe(good);
    }
  });
});
