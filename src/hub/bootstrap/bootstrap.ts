/**
 * The hardened hub setup of the hub guide (Tasks 3-8, 13-14) for one hub, as pure rendering:
 * wg0.conf (the private key stays on the hub: generated there, loaded by `PostUp`), the nftables
 * ruleset, the sysctl drop-in only when routing, an sshd drop-in, the least-privilege `tunnelgate`
 * user (its authorized_keys and its sudoers entry), and the registered hub programs as root-owned
 * files. `tunnelgate hub bootstrap` prints this plan, or applies it (see `hub/bootstrap-script.ts`).
 */

import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { HubConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import { FORWARD_DROP_IN, HUB_PROGRAM_DIR } from '../../domain/hub-paths.js';
import { hubAddress } from '../../domain/hubs.js';
import { formatAddress, parseCidr, tryParseAddress, tryParseCidr } from '../../wg/cidr.js';
import { renderProgramFile } from '../programs/program-file.js';
import type { HubProgram } from '../programs/registry.js';
import { renderRuleset } from './nftables.js';

/** The bot's Unix user on a bootstrapped hub. */
export const BOT_USER = 'tunnelgate';

const UnixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a Unix user name');

/** An address or CIDR (`203.0.113.10`, `198.51.100.0/24`, `2001:db8::/48`). */
const Source = z.string().refine((s) => tryParseCidr(s) !== null || tryParseAddress(s) !== null, {
  error: (issue) => `${JSON.stringify(issue.input)} is not an address or CIDR`,
});

/** An OpenSSH public key line without options: `ssh-ed25519 AAAA… [comment]`. */
const SshPublicKey = z
  .string()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,2}( [A-Za-z0-9@._-]+)?$/,
    'expected an OpenSSH public key line',
  );

/** What the operator chose on the command line, plus the bot's public key. */
export const BootstrapOptions = z.object({
  /** Trusted SSH sources (`--ssh-from`, repeatable); the firewall drops SSH from anywhere else. */
  sshFrom: z.array(Source).min(1, 'give at least one --ssh-from CIDR (the addresses allowed to SSH in)'),
  /** Full-tunnel or site routes intended (`--routing`): forwarding, NAT and the sysctl drop-in. */
  routing: z.boolean().default(false),
  /** A person's account that may still log in over SSH (`--admin-user`). */
  adminUser: UnixUser.optional(),
  /** The public half of the hub's `privateKeyPath`, admitted for {@link BOT_USER}. */
  botPublicKey: SshPublicKey,
});
export type BootstrapOptions = z.infer<typeof BootstrapOptions>;

/** How a file's content is checked on the hub before it replaces the old one. */
export type FileCheck = 'none' | 'sudoers' | 'nftables' | 'sshd';

/** One root-owned file the bootstrap writes. */
export interface HubFile {
  path: string;
  /** Octal, e.g. `0600`. */
  mode: string;
  content: string;
  /** Written only when absent (wg0.conf: its peers survive a second bootstrap). */
  keepExisting: boolean;
  check: FileCheck;
  /** One line on why the file is there. */
  purpose: string;
}

/** Everything a bootstrap of one hub does; pure data, rendered by {@link renderBootstrap}. */
export interface BootstrapPlan {
  hub: string;
  interface: string;
  /** Where the hub's private key is generated (never leaves the hub). */
  keyPath: string;
  listenPort: number;
  routing: boolean;
  /** The line written to ~tunnelgate/.ssh/authorized_keys. */
  authorizedKey: string;
  /** Users sshd admits afterwards. */
  sshUsers: string[];
  files: HubFile[];
}

function listenPort(hub: HubConfig): number {
  const port = Number(hub.endpoint.slice(hub.endpoint.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new TunnelgateError(
      'CONFIG_INVALID',
      `hub "${hub.name}": endpoint ${hub.endpoint} has no usable port`,
    );
  return port;
}

/** `Address = …`: the hub's own address with the subnet's prefix (and the IPv6 one when set). */
function interfaceAddresses(hub: HubConfig): string {
  const v4 = `${hubAddress(hub)}/${parseCidr(hub.subnet).prefix}`;
  if (hub.subnet6 === undefined) return v4;
  const six = parseCidr(hub.subnet6);
  return `${v4}, ${formatAddress({ family: 6, value: six.network + 1n })}/${six.prefix}`;
}

/** wg0.conf without any private key: wg-quick loads the key file after bringing the link up. */
export function renderWgConf(hub: HubConfig, keyPath: string): string {
  return [
    '# Written by `tunnelgate hub bootstrap`. Peers are appended below by Tunnelgate.',
    '[Interface]',
    `Address = ${interfaceAddresses(hub)}`,
    `ListenPort = ${listenPort(hub)}`,
    'SaveConfig = false',
    'MTU = 1420',
    `PostUp = wg set %i private-key ${keyPath}`,
    '',
  ].join('\n');
}

/** sudoers: the bot's user may run the installed hub programs as root, nothing else (not even `wg`). */
export function renderSudoers(): string {
  return [
    '# Written by `tunnelgate hub bootstrap`: the bot may run its own programs as root, nothing else.',
    `Defaults:${BOT_USER} !requiretty`,
    `${BOT_USER} ALL=(root) NOPASSWD: ${HUB_PROGRAM_DIR}/*`,
    '',
  ].join('\n');
}

/** The sshd drop-in: keys only, no root, only the bot's user (and the admin, if any). */
export function renderSshdDropIn(users: readonly string[]): string {
  return [
    '# Written by `tunnelgate hub bootstrap`.',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    `AllowUsers ${users.join(' ')}`,
    '',
  ].join('\n');
}

/** The forwarding drop-in (only with routing): IPv4, and IPv6 when the hub has a v6 subnet. */
export function renderSysctl(hub: HubConfig): string {
  return [
    '# Written by `tunnelgate hub bootstrap --routing`: this hub routes tunnel traffic onward.',
    'net.ipv4.ip_forward=1',
    ...(hub.subnet6 === undefined ? [] : ['net.ipv6.conf.all.forwarding=1']),
    '',
  ].join('\n');
}

/**
 * The plan for `hub`. Throws INPUT_INVALID (via zod) for bad options and CONFIG_INVALID for an
 * endpoint without a port.
 */
export function renderBootstrap(
  hub: HubConfig,
  input: z.input<typeof BootstrapOptions>,
  programs: readonly HubProgram[],
): BootstrapPlan {
  const parsed = BootstrapOptions.safeParse(input);
  if (!parsed.success) {
    throw new TunnelgateError('INPUT_INVALID', parsed.error.issues.map((i) => i.message).join('; '), {
      hint: 'tunnelgate hub bootstrap <hub> --ssh-from CIDR [--ssh-from CIDR …] [--routing] [--admin-user NAME]',
    });
  }
  const options = parsed.data;
  const keyPath = `${dirname(hub.configPath)}/${hub.interface}.key`;
  const port = listenPort(hub);
  const sshUsers = [BOT_USER, ...(options.adminUser === undefined ? [] : [options.adminUser])];
  const ruleset = renderRuleset({
    sshFrom: options.sshFrom,
    listenPort: port,
    ...(options.routing
      ? {
          routing: {
            wgInterface: hub.interface,
            egressInterface: hub.egressInterface,
            subnets: [hub.subnet, ...(hub.subnet6 === undefined ? [] : [hub.subnet6])],
          },
        }
      : {}),
  });
  const file = (
    path: string,
    mode: string,
    content: string,
    purpose: string,
    more: Partial<HubFile> = {},
  ) => ({
    path,
    mode,
    content,
    purpose,
    keepExisting: false,
    check: 'none' as FileCheck,
    ...more,
  });
  const files: HubFile[] = [
    file(hub.configPath, '0600', renderWgConf(hub, keyPath), 'the WireGuard interface (kept if it exists)', {
      keepExisting: true,
    }),
    file(
      '/etc/nftables.conf',
      '0644',
      ruleset,
      'default-drop firewall: one UDP port, SSH from --ssh-from only',
      {
        check: 'nftables',
      },
    ),
    ...(options.routing
      ? [file(FORWARD_DROP_IN, '0644', renderSysctl(hub), 'forwarding, for --routing')]
      : []),
    file(
      '/etc/ssh/sshd_config.d/tunnelgate.conf',
      '0644',
      renderSshdDropIn(sshUsers),
      'sshd: keys only, no root',
      {
        check: 'sshd',
      },
    ),
    file(
      '/etc/sudoers.d/tunnelgate',
      '0440',
      renderSudoers(),
      `sudo for ${BOT_USER}: the hub programs only`,
      {
        check: 'sudoers',
      },
    ),
    ...programs.map((program) =>
      file(
        `${HUB_PROGRAM_DIR}/${program.name}`,
        '0755',
        renderProgramFile(program, hub),
        'a hub program for sudo mode',
      ),
    ),
  ];
  return {
    hub: hub.name,
    interface: hub.interface,
    keyPath,
    listenPort: port,
    routing: options.routing,
    authorizedKey: `restrict ${options.botPublicKey.split(' ').slice(0, 2).join(' ')} tunnelgate-bot`,
    sshUsers,
    files,
  };
}

/** The plan as text for people: what runs, then every file under a header with its path. */
export function renderPlanText(plan: BootstrapPlan): string {
  const keyDir = dirname(plan.keyPath);
  const lines = [
    `# Hub bootstrap for "${plan.hub}" (the hub guide, Tasks 3-8 and 13-14)`,
    '#',
    '# On the hub, as root, in this order (`--apply` does all of it in one SSH exec):',
    `#   useradd --system --create-home --shell /bin/sh ${BOT_USER}   # unless it exists`,
    `#   install ~${BOT_USER}/.ssh/authorized_keys (0600, owner ${BOT_USER})`,
    `#   umask 077; mkdir -p ${keyDir}; [ -s ${plan.keyPath} ] || wg genkey > ${plan.keyPath}`,
    '#     (the private key is made on the hub and never crosses SSH)',
    '#   install each file below as root; visudo -cf, nft -c -f and sshd -t check them first',
    `#   ${plan.routing ? `sysctl -p ${FORWARD_DROP_IN}` : 'no forwarding (no --routing): net.ipv4.ip_forward stays 0'}`,
    `#   systemctl enable --now wg-quick@${plan.interface}   # or wg-quick up ${plan.interface} without systemd`,
    '#   nft -f /etc/nftables.conf; systemctl enable nftables',
    '#   sshd -t && systemctl reload ssh',
    `#   ss -lun | grep ':${plan.listenPort} '; ss -lntup   # only WireGuard and SSH should listen`,
    '#',
    `# Afterwards SSH admits only: ${plan.sshUsers.join(', ')}. Set the hub's tunnelgate.yaml entry to`,
    `# user: ${BOT_USER} and sudo: true.`,
    '',
    `==> ~${BOT_USER}/.ssh/authorized_keys (0600) <==`,
    plan.authorizedKey,
    '',
  ];
  for (const f of plan.files) {
    lines.push(
      `==> ${f.path} (${f.mode}${f.keepExisting ? ', only if absent' : ''}): ${f.purpose} <==`,
      f.content,
    );
  }
  return lines.join('\n');
}

/** sha256 of the plan text: an approval is for exactly this plan. */
export function planDigest(plan: BootstrapPlan): string {
  return createHash('sha256').update(renderPlanText(plan)).digest('hex');
}
