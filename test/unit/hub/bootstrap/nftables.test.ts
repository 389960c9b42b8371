import { describe, expect, it } from 'vitest';
import { renderRuleset } from '../../../../src/hub/bootstrap/nftables.js';
import { renderHubRuleset } from '../../../../src/lab/nftables.js';

/** The lab ruleset exactly as the lab rendered it before the renderer moved to hub/. */
const LAB_RULESET = `flush ruleset

table inet filter {
  chain input {
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iif "lo" accept
    udp dport 51820 accept
    ip saddr 198.51.100.1 tcp dport 22 accept
    ip protocol icmp accept
    ip6 nexthdr icmpv6 accept
    counter reject with icmpx type port-unreachable
  }

  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
  }

  chain output {
    type filter hook output priority filter; policy accept;
  }
}
`;

describe('the hub ruleset', () => {
  it('renders the lab hubs the same as before: the guide ruleset with the operator as the only SSH source', () => {
    expect(renderHubRuleset({ operatorAddress: '198.51.100.1' })).toBe(LAB_RULESET);
  });

  it('drops by default and opens only the one UDP port, with SSH only from the trusted sources', () => {
    const text = renderRuleset({
      sshFrom: ['203.0.113.0/28', '192.0.2.7', '2001:db8::/48'],
      listenPort: 51999,
    });
    expect(text).toContain('type filter hook input priority filter; policy drop;');
    expect(text).toContain('type filter hook forward priority filter; policy drop;');
    expect(text.match(/udp dport \d+/g)).toEqual(['udp dport 51999']);
    expect(text.match(/^.*tcp dport.*$/gm)).toEqual([
      '    ip saddr { 203.0.113.0/28, 192.0.2.7 } tcp dport 22 accept',
      '    ip6 saddr 2001:db8::/48 tcp dport 22 accept',
    ]);
    expect(text).not.toContain('masquerade');
    expect(text).not.toMatch(/iifname/);
  });

  it('forwards and masquerades the tunnel toward the egress interface only when routing', () => {
    const text = renderRuleset({
      sshFrom: ['192.0.2.7'],
      routing: { wgInterface: 'wg0', egressInterface: 'ens3', subnets: ['10.6.0.0/24', 'fd00:6::/64'] },
    });
    expect(text).toContain('    iifname "wg0" oifname "ens3" accept');
    expect(text).toContain('    oifname "ens3" ip saddr 10.6.0.0/24 masquerade');
    expect(text).toContain('    oifname "ens3" ip6 saddr fd00:6::/64 masquerade');
  });

  it('refuses to render without a trusted SSH source or with a bad one', () => {
    expect(() => renderRuleset({ sshFrom: [] })).toThrow(/at least one trusted SSH source/);
    expect(() => renderRuleset({ sshFrom: ['0.0.0.0/0; flush ruleset'] })).toThrow(/not an address or CIDR/);
  });
});
