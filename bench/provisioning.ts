/**
 * Provisioning: approve -> peer live and verified on the hub (the peer.provisioned message), against
 * a person's bare minimum — one fresh `ssh hub '…'` that runs `wg set`, appends the config section
 * and shows the dump. Samples alternate between the two, on the same hub, so drift hits both.
 */
import type { HubConfig } from '../src/config/schema.js';
import { generateKeyPair } from '../src/wg/keys.js';
import type { BenchEnv, Figure } from './support/figure.js';
import { progress } from './support/figure.js';
import { approveAndWait, request } from './support/flow.js';
import { freshSsh } from './support/ssh.js';
import { distribution, median, ms, percentile, ratio } from './support/stats.js';
import { startTunnelgate } from './support/tunnelgate.js';

const SAMPLES = 30;
const WARM_UP = 2;

/** What the person types, as constant program text: $1 interface, $2 key, $3 address, $4 config file. */
const BY_HAND_SH = `set -eu
wg set "$1" peer "$2" allowed-ips "$3"
printf '\\n[Peer]\\nPublicKey = %s\\nAllowedIPs = %s\\n' "$2" "$3" >> "$4"
wg show "$1" dump`;

/** The hand-typed command for peer `i`; its addresses (.200 up) stay clear of the bot's (.2 up). */
function byHand(hub: HubConfig, i: number): Promise<{ ms: number; stdout: string }> {
  const base = (hub.subnet.split('/')[0] ?? '').split('.').slice(0, 3).join('.');
  const key = generateKeyPair().publicKey;
  return freshSsh(hub, [
    'sh',
    '-c',
    BY_HAND_SH,
    'by-hand',
    hub.interface,
    key,
    `${base}.${200 + i}/32`,
    hub.configPath,
  ]);
}

export async function benchProvisioning(env: BenchEnv): Promise<Figure[]> {
  const tg = await startTunnelgate({
    name: 'provisioning',
    redisUrl: env.redisUrl,
    logger: env.logger,
    hubs: env.hubs.slice(0, 1),
  });
  try {
    const hub = tg.config.hubs[0] as HubConfig;
    const bot: number[] = [];
    const person: number[] = [];
    progress(`provisioning: ${SAMPLES} approvals alternating with ${SAMPLES} fresh ssh commands`);
    for (let i = 0; i < WARM_UP + SAMPLES; i++) {
      const id = await request(tg, `prov${i}`, 'laptop');
      const botMs = await approveAndWait(tg, id);
      const run = await byHand(hub, i);
      if (!run.stdout.includes('\t')) throw new Error('the hand-typed command printed no dump');
      if (i >= WARM_UP) {
        bot.push(botMs);
        person.push(run.ms);
      }
    }
    const goalMet = median(bot) / median(person) < 0.75;
    return [
      {
        name: 'Provisioning: approve -> live and verified',
        result: distribution(bot),
        goal: '-',
        met: null,
        method:
          'Sequential approvals on one hub, in the runtime `tunnelgate all` runs (bot, worker and notifier in one process); each timed from the `/vpn approve` call to the arrival of its peer.provisioned message at the outlet (sent after the worker verified the peer live and in wg0.conf).',
        notes: [`${WARM_UP} warm-up approvals (which open the SSH connection) are not counted.`],
      },
      {
        name: 'Provisioning vs one fresh `ssh hub` by hand',
        result: `${ratio(median(bot), median(person))} (p50 ${ms(median(bot))} vs ${ms(median(person))}; p99 ${ms(percentile(bot, 99))} vs ${ms(percentile(person, 99))})`,
        goal: '< 0.75x',
        met: goalMet,
        method:
          'Ratio of medians: the bot sample above vs one OpenSSH `ssh` per peer (fresh connection, operator key, known_hosts, BatchMode, StrictHostKeyChecking=yes) running `wg set`, appending the [Peer] section to wg0.conf and `wg show wg0 dump`; the two alternate on the same hub.',
        notes: [`person: ${distribution(person)}`],
      },
    ];
  } finally {
    await tg.stop();
  }
}
