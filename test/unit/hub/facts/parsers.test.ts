import { describe, expect, it } from 'vitest';
import { parseFileModes, tooOpen } from '../../../../src/hub/facts/file-modes.js';
import { evaluateHook, parseRuleset } from '../../../../src/hub/facts/firewall.js';
import { parseLinks } from '../../../../src/hub/facts/links.js';
import { parseListeners } from '../../../../src/hub/facts/listeners.js';
import { parseFlows, parsePing, parsePmtu } from '../../../../src/hub/facts/probes.js';
import { parseRoutes } from '../../../../src/hub/facts/routes.js';
import { parseSysctls } from '../../../../src/hub/facts/sysctl.js';
import { parseClock, parseLiveState } from '../../../../src/hub/facts/wireguard.js';
import { fixture } from '../../runbooks/fixtures.js';

const ruleset = (state: string) => parseRuleset(fixture(state, 'nft-json'), fixture(state, 'nft-text'));
const udp = { family: 4, proto: 'udp', iif: 'eth0', saddr: '192.0.2.77', dport: 51820, ct: 'new' } as const;

describe('ss listeners', () => {
  it('finds wireguard-go on UDP 51820 and sshd on TCP 22 on a healthy hub', () => {
    const listeners = parseListeners(fixture('healthy', 'ss'));
    expect(listeners.map((l) => `${l.proto}:${l.port}:${l.process}`)).toEqual([
      'udp:51820:wireguard-go',
      'udp:51820:wireguard-go',
      'tcp:22:sshd',
    ]);
  });

  it('shows an extra listener and no WireGuard socket when wg0 is down', () => {
    expect(parseListeners(fixture('holes', 'ss')).find((l) => l.port === 8080)).toMatchObject({
      proto: 'tcp',
      address: '*',
      process: 'busybox',
    });
    expect(parseListeners(fixture('wg-down', 'ss')).some((l) => l.proto === 'udp')).toBe(false);
  });
});

describe('nftables ruleset', () => {
  it('accepts WireGuard on the healthy ruleset, by the udp dport rule', () => {
    const result = evaluateHook(ruleset('healthy') ?? { chains: new Map() }, 'input', udp);
    expect(result.verdict).toBe('accept');
    expect(result.rule?.text).toBe('udp dport 51820 accept');
  });

  it('names the counted reject rule when the accept rule is gone', () => {
    const result = evaluateHook(ruleset('udp-blocked') ?? { chains: new Map() }, 'input', udp);
    expect(result.verdict).toBe('reject');
    expect(result.rule?.text).toMatch(/^counter packets \d+ bytes \d+ reject$/);
    expect(result.packets).toBeGreaterThan(0);
  });

  it('sees the drop on wg0 before the established rule', () => {
    const packet = { family: 4, proto: 'icmp', iif: 'wg0', saddr: '10.66.1.2', ct: 'established' } as const;
    expect(evaluateHook(ruleset('healthy') ?? { chains: new Map() }, 'input', packet).verdict).toBe('accept');
    const dropped = evaluateHook(ruleset('wg0-drop') ?? { chains: new Map() }, 'input', packet);
    expect(dropped.verdict).toBe('drop');
    expect(dropped.rule?.text).toMatch(/^iifname "wg0" counter packets \d+ bytes \d+ drop$/);
  });

  it('admits SSH from anywhere only after the open rule is inserted', () => {
    const ssh = { family: 4, proto: 'tcp', iif: 'eth0', saddr: '192.0.2.77', dport: 22, ct: 'new' } as const;
    expect(evaluateHook(ruleset('healthy') ?? { chains: new Map() }, 'input', ssh).verdict).toBe('reject');
    expect(evaluateHook(ruleset('ssh-open') ?? { chains: new Map() }, 'input', ssh).rule?.text).toBe(
      'tcp dport 22 accept',
    );
  });

  it('finds the masquerade toward eth0 and the forward rule of a full-tunnel hub', () => {
    const out = {
      family: 4,
      proto: 'tcp',
      iif: 'wg0',
      oif: 'eth0',
      saddr: '10.66.1.2',
      dport: 443,
      ct: 'new',
    } as const;
    const full = ruleset('full-tunnel') ?? { chains: new Map() };
    expect(evaluateHook(full, 'postrouting', out).verdict).toBe('masquerade');
    expect(evaluateHook(full, 'forward', out).verdict).toBe('accept');
    expect(
      evaluateHook(ruleset('full-tunnel-no-masquerade') ?? { chains: new Map() }, 'postrouting', out).verdict,
    ).toBe('accept');
  });

  it('returns null for output that is not nft JSON', () => {
    expect(parseRuleset('', '')).toBeNull();
  });
});

describe('links, routes, sysctl, modes, clock', () => {
  it('reads wg0 and eth0 MTUs, healthy and lowered', () => {
    const mtu = (state: string, name: string) =>
      parseLinks(fixture(state, 'links')).find((l) => l.name === name)?.mtu;
    expect([mtu('healthy', 'wg0'), mtu('healthy', 'eth0')]).toEqual([1420, 1500]);
    expect(mtu('mtu-1280', 'eth0')).toBe(1280);
  });

  it('finds the subnet route on wg0', () => {
    expect(parseRoutes(fixture('healthy', 'routes'))).toContainEqual(
      expect.objectContaining({ dst: '10.66.1.0/24', dev: 'wg0' }),
    );
  });

  it('reads ip_forward off and on, and IPv6 enabled', () => {
    expect(parseSysctls(fixture('healthy', 'sysctl'))).toMatchObject({ ipForward: false, ipv6Enabled: true });
    expect(parseSysctls(fixture('full-tunnel', 'sysctl')).ipForward).toBe(true);
  });

  it('flags 644 but not 600', () => {
    expect(parseFileModes(fixture('healthy', 'modes')).map(tooOpen)).toEqual([false]);
    expect(parseFileModes(fixture('holes', 'modes'))).toEqual([
      expect.objectContaining({ mode: '644', path: '/etc/wireguard/wg0.conf' }),
    ]);
    expect(parseFileModes(fixture('holes', 'modes')).map(tooOpen)).toEqual([true]);
  });

  it('reads the hub clock and the hidden-key dump; a down interface gives no state', () => {
    expect(parseClock(fixture('healthy', 'clock'))).toBeGreaterThan(1_600_000_000);
    expect(parseLiveState(fixture('healthy', 'dump'), 0)?.peers).toHaveLength(1);
    expect(parseLiveState(fixture('wg-down', 'dump'), 1)).toBeNull();
  });
});

describe('probes', () => {
  it('reads a ping answered and one lost', () => {
    expect(parsePing(fixture('healthy', 'ping-0')).ok).toBe(true);
    expect(parsePing(fixture('wg0-drop', 'ping-0'))).toMatchObject({
      ok: false,
      line: expect.stringContaining('0 received'),
    });
  });

  it('reads the don not fragment probe: fits at 1500, too long at 1280', () => {
    expect(parsePmtu(fixture('healthy', 'pmtu'))).toMatchObject({
      ok: true,
      size: 1452,
      wgMtu: 1420,
      pathMtu: null,
    });
    expect(parsePmtu(fixture('mtu-1280', 'pmtu'))).toMatchObject({ ok: false, pathMtu: 1280 });
  });

  it('finds the unanswered flow of a client with the wrong hub key', () => {
    const flows = parseFlows(fixture('wrong-hub-key', 'conntrack'));
    expect(flows.filter((f) => f.unreplied)).toHaveLength(1);
    expect(flows.filter((f) => !f.unreplied)).toHaveLength(1);
  });
});
