/**
 * A bare lab host: what a fresh server looks like before `tunnelgate hub bootstrap` — sshd
 * admitting root by the operator's key and nothing else set up (no WireGuard, no firewall, no
 * `tunnelgate` user). It is a real system to change: /etc, /var and /usr/local are private
 * copy-on-write overlays of this machine's and /root and /home start empty, so useradd, sudoers,
 * sshd and nftables files land in the host only and vanish with it. Its sshd reads /etc/ssh/sshd_config, which includes
 * /etc/ssh/sshd_config.d/*.conf first, and keeps its pid in /run/sshd.pid, as on Debian.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LabHost, WG_USERSPACE_ENV } from './host.js';
import { type HubSpec, LabHub, startSshd } from './hub.js';
import { generateSshKey } from './sshd.js';

/** The directories each bare host gets its own overlay of. */
const PRIVATE_TREES = ['/etc', '/var', '/usr/local'];
/**
 * Home directories start empty, as on a fresh server: this machine's /root may carry shell
 * start-up files (e.g. pyenv's) that a root SSH session would run and that can block on locks.
 */
const FRESH_HOMES = ['/root', '/home'];

/** sshd's config on a bare host: drop-ins first (first value wins), then root by key only. */
function bareSshdConfig(address: string): string {
  const env = Object.entries(WG_USERSPACE_ENV).map(([k, v]) => `${k}=${v}`);
  return [
    'Include /etc/ssh/sshd_config.d/*.conf',
    `ListenAddress ${address}`,
    'Port 22',
    'HostKey /etc/ssh/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'MaxSessions 10',
    'X11Forwarding no',
    'PrintMotd no',
    'UseDNS no',
    // Sessions may run wg-quick (the bootstrap does), which needs the userspace fallback here.
    `SetEnv ${env.join(' ')}`,
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** A running bare host. Created by the lab (`startLab({ bare: n })`). */
export class LabBareHost {
  constructor(
    readonly host: LabHost,
    private readonly spec: HubSpec,
    /** The sshd host key as one line: `ssh-ed25519 AAAA…`. */
    readonly hostPublicKey: string,
  ) {}

  get name(): string {
    return this.host.name;
  }

  get labAddress(): string {
    return this.host.address;
  }

  /**
   * This host as a lab hub (subnet `10.66.<index>.0/24`, config entry, exec…), for once it is
   * bootstrapped; `wgPublicKey` is the key the bootstrap reported.
   */
  asHub(wgPublicKey: string): LabHub {
    return new LabHub(this.host, this.spec, this.hostPublicKey, wgPublicKey);
  }
}

/**
 * Turns a created host into a bare server: private overlays, a fresh host key, root's
 * authorized_keys and sshd. Throws LAB_UNAVAILABLE; the lab's teardown removes what was started.
 */
export async function startBareHost(host: LabHost, spec: HubSpec): Promise<LabBareHost> {
  const dir = host.spec.dir;
  for (const tree of PRIVATE_TREES) {
    const base = join(dir, 'overlay', tree.slice(1).replaceAll('/', '-'));
    await mkdir(join(base, 'upper'), { recursive: true, mode: 0o755 });
    await mkdir(join(base, 'work'), { recursive: true, mode: 0o700 });
    await host.execChecked([
      'mount',
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${tree},upperdir=${join(base, 'upper')},workdir=${join(base, 'work')}`,
      tree,
    ]);
  }
  for (const home of FRESH_HOMES) {
    const fresh = join(dir, 'homes', home.slice(1));
    await mkdir(fresh, { recursive: true, mode: home === '/root' ? 0o700 : 0o755 });
    await host.execChecked(['mount', '--bind', fresh, home]);
  }
  // The overlay on /etc hid the host's private /etc/wireguard; mount it again.
  await host.execChecked(['mount', '--bind', join(dir, 'wireguard'), '/etc/wireguard']);

  const keyPath = join(dir, 'ssh_host_ed25519_key');
  const hostPublicKey = await generateSshKey(keyPath, `${host.name}@tunnelgate-lab`);
  await host.writeFile('/etc/ssh/ssh_host_ed25519_key', await readFile(keyPath, 'utf8'), 0o600);
  await host.writeFile('/etc/ssh/ssh_host_ed25519_key.pub', `${hostPublicKey}\n`, 0o644);
  await host.writeFile('/etc/ssh/sshd_config', bareSshdConfig(host.address), 0o644);
  await host.execChecked(['install', '-d', '-m', '0700', '/root/.ssh']);
  await host.writeFile('/root/.ssh/authorized_keys', `${spec.operatorPublicKey}\n`, 0o600);
  await startSshd(host, '/etc/ssh/sshd_config');
  return new LabBareHost(host, spec, hostPublicKey);
}
