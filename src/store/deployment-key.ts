/**
 * One data key per deployment. Every bot and worker on a Redis prefix seals private keys and
 * signs jobs, approvals and the audit chain with keys derived from the same data key; a process
 * that generated its own (`secret.key` on another machine, a container without the shared
 * volume) would seal what nobody else can open and refuse every job the others sign. The first
 * process records a MAC of a fixed text in Redis; any later process with another key is refused
 * at start, before it takes work.
 */
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import type { Signer } from '../domain/signer.js';
import type { RedisKeys } from './keys.js';

const PROBE = 'tunnelgate deployment key';

/**
 * Records this process's key id, or checks it against the one recorded.
 * @throws TunnelgateError CONFIG_INVALID when the deployment on this Redis uses another data key.
 */
export async function checkDeploymentKey(
  redis: Redis,
  keys: Pick<RedisKeys, 'deploymentKey'>,
  signer: Signer,
  prefix: string,
): Promise<void> {
  const mine = signer.mac('job', PROBE);
  await redis.set(keys.deploymentKey, mine, 'NX');
  if ((await redis.get(keys.deploymentKey)) === mine) return;
  throw new TunnelgateError(
    'CONFIG_INVALID',
    `this process's data key is not the one the other Tunnelgate processes on this Redis (prefix "${prefix}") use`,
    {
      hint: 'give every bot and worker the same TUNNELGATE_SECRET (openssl rand -hex 32), or the same dataDir volume',
    },
  );
}
