import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logger.js';
import { checkRedisPolicy, type EmbeddedRedis, startEmbeddedRedis } from '../../src/store/embedded-redis.js';

/** A real pino logger whose JSON lines are kept for assertions. */
function recordingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function configGet(redis: Redis, name: string): Promise<string | undefined> {
  const reply = (await redis.config('GET', name)) as unknown;
  if (Array.isArray(reply)) return reply[1] as string | undefined;
  return (reply as Record<string, string>)[name];
}

describe('startEmbeddedRedis', () => {
  let dataDir: string;
  const running: EmbeddedRedis[] = [];
  const clients: Redis[] = [];

  const start = async (): Promise<EmbeddedRedis> => {
    const server = await startEmbeddedRedis({ dataDir, logger: recordingLogger().logger });
    running.push(server);
    return server;
  };
  const client = (url: string): Redis => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 });
    clients.push(redis);
    return redis;
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tg-embedded-redis-'));
  });

  afterEach(async () => {
    for (const redis of clients.splice(0)) redis.disconnect();
    await Promise.all(running.splice(0).map((server) => server.stop()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('starts with AOF and noeviction on a unix socket only, and stops', async () => {
    const server = await start();
    expect(server.url).toBe(join(dataDir, 'redis', 'redis.sock'));
    const redis = client(server.url);
    expect(await redis.ping()).toBe('PONG');
    expect(await configGet(redis, 'appendonly')).toBe('yes');
    expect(await configGet(redis, 'maxmemory-policy')).toBe('noeviction');
    expect(await configGet(redis, 'dir')).toBe(join(dataDir, 'redis'));
    const pid = Number((await readFile(join(dataDir, 'redis', 'redis.pid'), 'utf8')).trim());
    expect(pid).toBeGreaterThan(0);
    redis.disconnect();

    await server.stop();
    await server.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(stat(join(dataDir, 'redis', 'redis.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(canConnect(server.url)).resolves.toBe(false);
  });

  it('opens no TCP listener, and keeps its socket in a 0700 directory nobody else can enter', async () => {
    // A directory another user could already read, as an older install or a wide umask leaves it.
    await mkdir(join(dataDir, 'redis'), { mode: 0o755 });
    const server = await start();
    const redis = client(server.url);
    expect(await configGet(redis, 'port')).toBe('0');
    const pid = Number((await readFile(join(dataDir, 'redis', 'redis.pid'), 'utf8')).trim());
    expect(await tcpListeners(pid)).toEqual([]);
    expect(await unixListeners(pid)).toEqual([server.url]);
    expect((await stat(join(dataDir, 'redis'))).mode & 0o777).toBe(0o700);
    expect((await stat(server.url)).mode & 0o077).toBe(0);
  });

  it('puts the socket of a dataDir too long for a socket path in a private temporary directory', async () => {
    const deep = join(dataDir, 'x'.repeat(60), 'y'.repeat(40));
    const server = await startEmbeddedRedis({ dataDir: deep, logger: recordingLogger().logger });
    running.push(server);
    expect(server.url.startsWith(join(dataDir, 'x'))).toBe(false);
    expect(await client(server.url).ping()).toBe('PONG');
    const socketDir = join(server.url, '..');
    expect((await stat(socketDir)).mode & 0o777).toBe(0o700);
    const pid = Number((await readFile(join(deep, 'redis', 'redis.pid'), 'utf8')).trim());
    expect(await tcpListeners(pid)).toEqual([]);
    await server.stop();
    await expect(stat(socketDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps data across stop and start', async () => {
    const first = await start();
    const before = client(first.url);
    await before.set('tg-test:survives', 'yes');
    await before.rpush('tg-test:list', 'a', 'b');
    before.disconnect();
    await first.stop();

    const second = await start();
    const after = client(second.url);
    expect(await after.get('tg-test:survives')).toBe('yes');
    expect(await after.lrange('tg-test:list', 0, -1)).toEqual(['a', 'b']);
    await after.del('tg-test:survives', 'tg-test:list');
  });

  it('refuses to start a second server for the same dataDir', async () => {
    await start();
    await expect(startEmbeddedRedis({ dataDir, logger: recordingLogger().logger })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('already running'),
    });
  });

  it('replaces a stale pid file left by a crash', async () => {
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid;
    await new Promise((resolve) => dead.once('exit', resolve));
    await mkdir(join(dataDir, 'redis'), { recursive: true });
    await writeFile(join(dataDir, 'redis', 'redis.pid'), `${deadPid}\n`);

    const server = await start();
    expect(await client(server.url).ping()).toBe('PONG');
  });

  it('reports a missing redis-server binary clearly', async () => {
    await expect(
      startEmbeddedRedis({
        dataDir,
        logger: recordingLogger().logger,
        binary: 'redis-server-does-not-exist',
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('not installed') });
    await expect(stat(join(dataDir, 'redis', 'redis.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('checkRedisPolicy', () => {
  let dataDir: string;
  let server: EmbeddedRedis | undefined;
  let redis: Redis | undefined;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tg-redis-policy-'));
  });

  afterEach(async () => {
    redis?.disconnect();
    await server?.stop();
    server = undefined;
    redis = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('accepts noeviction and refuses allkeys-lru', async () => {
    const { logger } = recordingLogger();
    server = await startEmbeddedRedis({ dataDir, logger });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await expect(checkRedisPolicy(redis, logger)).resolves.toBeUndefined();

    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await expect(checkRedisPolicy(redis, logger)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `redis at ${server.url} uses maxmemory-policy allkeys-lru; Tunnelgate needs noeviction (jobs and requests must not be evicted)`,
    });
  });

  it('warns and continues when an ACL denies CONFIG', async () => {
    const { logger, lines } = recordingLogger();
    server = await startEmbeddedRedis({ dataDir, logger });
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    await redis.call('ACL', 'SETUSER', 'default', '-config');
    await expect(checkRedisPolicy(redis, logger)).resolves.toBeUndefined();
    expect(lines.some((l) => l.level === 40 && l.msg.includes('maxmemory-policy'))).toBe(true);
  });

  it('warns and continues when CONFIG is renamed away, as on managed Redis', async () => {
    const { logger, lines } = recordingLogger();
    const port = await freePort();
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dataDir,
        '--rename-command',
        'CONFIG',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('Ready to accept connections')) resolve();
        });
        child.once('exit', () => reject(new Error('redis-server exited')));
      });
      redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
      await expect(checkRedisPolicy(redis, logger)).resolves.toBeUndefined();
      expect(lines.some((l) => l.level === 40 && l.msg.includes('maxmemory-policy'))).toBe(true);
    } finally {
      redis?.disconnect();
      redis = undefined;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** The socket inodes process `pid` holds open. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined) inodes.add(inode);
  }
  return inodes;
}

/** The local addresses of the TCP sockets (v4 and v6) process `pid` listens on, from /proc/net. */
async function tcpListeners(pid: number): Promise<string[]> {
  const mine = await socketInodes(pid);
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const rows = (await readFile(table, 'utf8')).trim().split('\n').slice(1);
    for (const row of rows) {
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      if (state === '0A' && inode !== undefined && mine.has(inode)) found.push(local ?? '');
    }
  }
  return found;
}

/** The paths of the unix sockets process `pid` listens on, from /proc/net/unix. */
async function unixListeners(pid: number): Promise<string[]> {
  const mine = await socketInodes(pid);
  const rows = (await readFile('/proc/net/unix', 'utf8')).trim().split('\n').slice(1);
  return rows.flatMap((row) => {
    const [, , , flags, , , inode, path] = row.trim().split(/\s+/);
    // Flags 00010000: __SO_ACCEPTCON, a listening socket.
    return flags === '00010000' && inode !== undefined && mine.has(inode) && path ? [path] : [];
  });
}

function canConnect(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
