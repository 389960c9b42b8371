import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../../../src/config/schema.js';
import {
  type BootstrapPlan,
  planDigest,
  renderBootstrap,
  renderPlanText,
} from '../../../../src/hub/bootstrap/bootstrap.js';
import { bootstrapSteps } from '../../../../src/hub/bootstrap/script.js';
import '../../../../src/hub/programs/catalog.js';
import { hubPrograms } from '../../../../src/hub/programs/catalog.js';

const hub = HubConfig.parse({
  name: 'hub1',
  host: '192.0.2.10',
  user: 'root',
  privateKeyPath: '/tmp/key',
  hostKey: 'ssh-ed25519 AAAA',
  endpoint: 'vpn.example.com:51999',
  subnet: '10.6.0.0/24',
  egressInterface: 'ens3',
});
const BOT_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak';
const options = { sshFrom: ['203.0.113.0/28'], botPublicKey: BOT_KEY };

const file = (plan: BootstrapPlan, path: string) => plan.files.find((f) => f.path === path);

describe('renderBootstrap', () => {
  const plan = renderBootstrap(hub, options, hubPrograms());

  it('writes wg0.conf from the hub config with no private key: the key is generated and loaded on the hub', () => {
    const conf = file(plan, '/etc/wireguard/wg0.conf');
    expect(conf).toMatchObject({ mode: '0600', keepExisting: true });
    expect(conf?.content).toContain('Address = 10.6.0.1/24\n');
    expect(conf?.content).toContain('ListenPort = 51999\n');
    expect(conf?.content).toContain('SaveConfig = false\n');
    expect(conf?.content).toContain('MTU = 1420\n');
    expect(conf?.content).toContain('PostUp = wg set %i private-key /etc/wireguard/wg0.key\n');
    expect(plan.keyPath).toBe('/etc/wireguard/wg0.key');
  });

  it('puts no private key material in any file or the printed plan', () => {
    const everything = `${renderPlanText(plan)}${plan.files.map((f) => f.content).join('')}`;
    expect(everything).not.toMatch(/PrivateKey\s*=/i);
    expect(everything).not.toContain('PRIVATE KEY');
    expect(renderPlanText(plan)).toContain(
      'umask 077; mkdir -p /etc/wireguard; [ -s /etc/wireguard/wg0.key ] || wg genkey',
    );
  });

  it('lets the tunnelgate user run only the installed hub programs as root, not even wg', () => {
    const sudoers = file(plan, '/etc/sudoers.d/tunnelgate');
    expect(sudoers).toMatchObject({ mode: '0440', check: 'sudoers' });
    const rules = sudoers?.content.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rules).toEqual([
      'Defaults:tunnelgate !requiretty',
      'tunnelgate ALL=(root) NOPASSWD: /usr/local/lib/tunnelgate/*',
    ]);
  });

  it('installs every registered program as a root-owned 0755 file that pins the hub and guards its input', () => {
    for (const program of hubPrograms()) {
      const installed = file(plan, `/usr/local/lib/tunnelgate/${program.name}`);
      expect(installed?.mode).toBe('0755');
      expect(installed?.content.startsWith('#!/bin/sh\n')).toBe(true);
      expect(installed?.content).toContain("tg_config='/etc/wireguard/wg0.conf'");
      expect(installed?.content).toContain("tg_confdir='/etc/wireguard'");
      // Only the programs that list and tighten file modes may name files beside the config.
      expect(installed?.content).toContain(
        program.configDirArgs === true ? 'tg_dir_args=1' : "tg_dir_args=''",
      );
      expect(installed?.content).toContain('cd /var/lib/tunnelgate/empty');
      expect(installed?.content.endsWith(`${program.text}\n`)).toBe(true);
    }
    expect(
      hubPrograms()
        .filter((p) => p.configDirArgs === true)
        .map((p) => p.name),
    ).toEqual(['tunnelgate-chmod-private', 'tunnelgate-modes']);
    expect(file(plan, '/usr/local/lib/tunnelgate/tunnelgate-persist')?.content).toContain(
      "tg_input='(\\[Peer\\]",
    );
  });

  it('hardens sshd: keys only, no root, only the bot user and the admin', () => {
    const sshd = file(plan, '/etc/ssh/sshd_config.d/tunnelgate.conf')?.content ?? '';
    expect(sshd).toMatch(/^PasswordAuthentication no$/m);
    expect(sshd).toMatch(/^KbdInteractiveAuthentication no$/m);
    expect(sshd).toMatch(/^PermitRootLogin no$/m);
    expect(sshd).toMatch(/^AllowUsers tunnelgate$/m);
    const withAdmin = renderBootstrap(hub, { ...options, adminUser: 'ops' }, hubPrograms());
    expect(file(withAdmin, '/etc/ssh/sshd_config.d/tunnelgate.conf')?.content).toMatch(
      /^AllowUsers tunnelgate ops$/m,
    );
    expect(plan.authorizedKey).toBe(`restrict ${BOT_KEY} tunnelgate-bot`);
  });

  it('firewalls to the endpoint port and the trusted sources, with forwarding and sysctl only for --routing', () => {
    const nft = file(plan, '/etc/nftables.conf')?.content ?? '';
    expect(nft.match(/udp dport \d+/g)).toEqual(['udp dport 51999']);
    expect(nft).toContain('ip saddr 203.0.113.0/28 tcp dport 22 accept');
    expect(nft).not.toContain('masquerade');
    expect(plan.files.some((f) => f.path.startsWith('/etc/sysctl.d/'))).toBe(false);

    const routed = renderBootstrap(hub, { ...options, routing: true }, hubPrograms());
    expect(file(routed, '/etc/nftables.conf')?.content).toContain(
      'oifname "ens3" ip saddr 10.6.0.0/24 masquerade',
    );
    expect(file(routed, '/etc/sysctl.d/99-tunnelgate-forward.conf')?.content).toContain(
      'net.ipv4.ip_forward=1\n',
    );
    expect(bootstrapSteps(routed, options.sshFrom).map((s) => s.name)).toContain('sysctl');
    expect(planDigest(routed)).not.toBe(planDigest(plan));
  });

  it('refuses to render without a trusted SSH source', () => {
    expect(() => renderBootstrap(hub, { sshFrom: [], botPublicKey: BOT_KEY }, hubPrograms())).toThrow(
      /--ssh-from/,
    );
    expect(() =>
      renderBootstrap(hub, { sshFrom: ['anywhere'], botPublicKey: BOT_KEY }, hubPrograms()),
    ).toThrow(/not an address or CIDR/);
  });
});

describe('bootstrapSteps', () => {
  it('passes every file as input to a constant program, with the paths as arguments only', () => {
    const plan = renderBootstrap(hub, options, hubPrograms());
    const steps = bootstrapSteps(plan, options.sshFrom);
    expect(steps[0]?.name).toBe('preflight');
    const installs = steps.filter((s) => s.name.startsWith('file-'));
    expect(installs).toHaveLength(plan.files.length);
    for (const [i, step] of installs.entries()) {
      expect(step.input).toBe(plan.files[i]?.content);
      expect(step.argv[2]).not.toContain(plan.files[i]?.path);
    }
    expect(steps.map((s) => s.name).slice(-4)).toEqual(['wg-up', 'firewall', 'sshd', 'verify']);
  });
});
