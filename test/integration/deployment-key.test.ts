import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Runtime, startRuntime } from '../../src/cli/runtime.js';
import { TunnelgateConfig } from '../../src/config/schema.js';
import { capturedLogger } from '../support/captured-logger.js';
import { freshPrefix, redisUrl } from '../support/redis.js';

const fresh = freshPrefix('deployment-key');
const dirs: string[] = [];
const runtimes: Runtime[] = [];

/** A bot-only process on the suite's Redis, with its own data dir (no SSH is opened). */
function config(): TunnelgateConfig {
  const dataDir = mkdtempSync(join(tmpdir(), 'tg-deployment-key-'));
  dirs.push(dataDir);
  return TunnelgateConfig.parse({
    redis: { url: redisUrl(), prefix: fresh.prefix },
    dataDir,
    hubs: [
      {
        name: 'hub1',
        host: '192.0.2.10',
        user: 'tunnelgate',
        privateKeyPath: join(dataDir, 'id_ed25519'),
        hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFak',
        endpoint: 'vpn.example.com:51820',
        subnet: '10.6.0.0/24',
      },
    ],
    roles: { leads: ['alice'], oncall: [] },
  });
}

async function start(env: NodeJS.ProcessEnv, logger = capturedLogger().logger): Promise<Runtime> {
  const runtime = await startRuntime({ config: config(), logger, worker: false, env });
  runtimes.push(runtime);
  return runtime;
}

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.close()));
  await fresh.cleanup();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('one data key per deployment (review finding 9)', () => {
  const secret = randomBytes(32).toString('hex');

  it('refuses to start a process whose data key differs from the deployment it joins on Redis', async () => {
    await start({ TUNNELGATE_SECRET: secret });
    await expect(start({ TUNNELGATE_SECRET: randomBytes(32).toString('hex') })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `this process's data key is not the one the other Tunnelgate processes on this Redis (prefix "${fresh.prefix}") use`,
    });
    // A process on another machine that generated its own secret.key is refused the same way.
    await expect(start({})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    expect(await start({ TUNNELGATE_SECRET: secret })).toBeDefined();
  });

  it('warns, naming the file, when the data key comes from <dataDir>/secret.key', async () => {
    const other = freshPrefix('deployment-key-file');
    const { logger, log } = capturedLogger();
    const cfg = { ...config(), redis: { url: redisUrl(), prefix: other.prefix } };
    const runtime = await startRuntime({ config: cfg, logger, worker: false, env: {} });
    try {
      const warning = log()
        .split('\n')
        .find((line) => line.includes('TUNNELGATE_SECRET is not set'));
      expect(warning).toContain(join(cfg.dataDir, 'secret.key'));
    } finally {
      await runtime.close();
      await other.cleanup();
    }
  });
});
