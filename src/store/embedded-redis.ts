/**
 * Redis for installs without `redis.url`: the process runs its own redis-server under
 * `<dataDir>/redis`, with the settings Tunnelgate depends on (append-only file, no eviction),
 * and {@link checkRedisPolicy} holds a configured Redis to the same eviction rule. The server
 * listens on no TCP port at all, only on a unix socket in a 0700 directory: nobody but this
 * user can reach it (an unauthenticated TCP port would let any local user forge state).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Redis } from 'ioredis';
import { TunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** A running embedded redis-server. */
export interface EmbeddedRedis {
  /** The unix socket's path, which ioredis and BullMQ take as a URL. */
  url: string;
  /** Shuts the server down (SIGTERM, so it flushes the AOF) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

export interface EmbeddedRedisOptions {
  /** The server keeps its files in `<dataDir>/redis`. */
  dataDir: string;
  logger: Logger;
  /** The server binary (default `redis-server` on PATH). */
  binary?: string;
  /** How long loading the AOF and starting may take (default 30 s). */
  startTimeoutMs?: number;
}

/** "Ready to accept connections" (TCP) or "… now ready to accept connections at <socket>". */
const READY = /ready to accept connections/i;
const STOP_TIMEOUT_MS = 10_000;
/** Below sun_path's 108 bytes; a longer dataDir gets its socket in a private temporary directory. */
const MAX_SOCKET_PATH = 100;
const OUTPUT_LINES_KEPT = 20;

/**
 * Starts redis-server on the unix socket `<dataDir>/redis/redis.sock` (directory and socket 0700;
 * `port 0`: no TCP listener), with `appendonly yes` and `maxmemory-policy noeviction`, data in
 * `<dataDir>/redis`. Its pid is kept in
 * `<dataDir>/redis/redis.pid`; the server is stopped by `stop()` or when this process exits.
 * @throws TunnelgateError CONFLICT when a redis-server for the same dataDir is already running;
 * CONFIG_INVALID when redis-server is missing or the directory is unusable; INTERNAL when the
 * server exits during startup or does not start in time.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const dir = join(options.dataDir, 'redis');
  const pidFile = join(dir, 'redis.pid');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // mkdir keeps an existing directory's mode (an older install's, or the umask's).
    await chmod(dir, 0o700);
    await claimPidFile(pidFile);
  } catch (err) {
    if (err instanceof TunnelgateError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new TunnelgateError('CONFIG_INVALID', `cannot use ${dir} for the embedded Redis: ${reason}`, {
      hint: 'check dataDir and its permissions',
      cause: err,
    });
  }
  let socketDir = dir;
  try {
    if (join(dir, 'redis.sock').length > MAX_SOCKET_PATH) {
      socketDir = await mkdtemp(join(tmpdir(), 'tg-redis-'));
    }
    const socket = join(socketDir, 'redis.sock');
    const started = await launch(options, dir, socket);
    if (!started.ok) throw started.error;
    const cleanup = socketDir === dir ? [pidFile] : [pidFile, socketDir];
    const running = supervise(started.child, socket, cleanup, options.logger);
    await writeFile(pidFile, `${started.child.pid}\n`).catch(async (err: unknown) => {
      await running.stop();
      throw err;
    });
    return running;
  } catch (err) {
    await rm(pidFile, { force: true });
    if (socketDir !== dir) await rm(socketDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Refuses a configured Redis that may evict keys: queued jobs and pending requests must never
 * silently disappear. When the server does not allow `CONFIG GET` (managed services, ACLs), the
 * policy cannot be checked: a warning is logged and startup continues.
 * @throws TunnelgateError CONFIG_INVALID when `maxmemory-policy` is anything but `noeviction`.
 */
export async function checkRedisPolicy(redis: Redis, logger: Logger): Promise<void> {
  const where = endpointOf(redis);
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!/unknown command|NOPERM|disabled/i.test(message)) throw err;
    logger.warn(
      { redis: where, error: message },
      'cannot read maxmemory-policy; make sure it is noeviction, or jobs and requests may be evicted',
    );
    return;
  }
  const policy = readConfigValue(reply, 'maxmemory-policy');
  if (policy !== 'noeviction') {
    throw new TunnelgateError(
      'CONFIG_INVALID',
      `redis at ${where} uses maxmemory-policy ${policy ?? '(unknown)'}; Tunnelgate needs noeviction (jobs and requests must not be evicted)`,
      {
        hint: 'set `maxmemory-policy noeviction` in redis.conf, or remove redis.url to use the embedded Redis',
      },
    );
  }
}

type Launch = { ok: true; child: ChildProcess } | { ok: false; error: TunnelgateError };

/** Spawns the server and waits until it is ready, or has exited. */
function launch(options: EmbeddedRedisOptions, dir: string, socket: string): Promise<Launch> {
  const binary = options.binary ?? 'redis-server';
  const args = [
    '--port',
    '0',
    '--unixsocket',
    socket,
    '--unixsocketperm',
    '700',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const recent: string[] = [];
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  return new Promise<Launch>((resolve) => {
    let settled = false;
    const settle = (result: Launch): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const fail = (message: string, cause?: unknown): void => {
      const stderrTail = recent.join('\n');
      settle({
        ok: false,
        error: new TunnelgateError('INTERNAL', message, { stderrTail, cause }),
      });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(`embedded redis-server did not start within ${timeoutMs} ms`);
    }, timeoutMs);

    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        recent.push(line);
        if (recent.length > OUTPUT_LINES_KEPT) recent.shift();
        // Redis marks warnings with `#`; everything else is routine.
        if (/ # /.test(line)) options.logger.warn({ redis: line }, 'embedded redis');
        else options.logger.debug({ redis: line }, 'embedded redis');
        if (READY.test(line)) settle({ ok: true, child });
      });
    }
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        settle({
          ok: false,
          error: new TunnelgateError('CONFIG_INVALID', `${binary} is not installed`, {
            hint: 'install redis-server, or set redis.url to an existing Redis',
            cause: err,
          }),
        });
      } else {
        fail(`cannot start ${binary}: ${err.message}`, err);
      }
    });
    // `close` comes after the output is drained, so `recent` holds the server's last words.
    child.once('close', (code, signal) => {
      fail(`embedded redis-server exited during startup (${signal ?? `exit code ${code}`})`);
    });
  });
}

/** Wires a ready server to `stop()`, to process exit, and to a log line if it dies on its own. */
function supervise(
  child: ChildProcess,
  socket: string,
  cleanup: readonly string[],
  logger: Logger,
): EmbeddedRedis {
  let stopping: Promise<void> | undefined;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // Best effort on exit: only synchronous work runs here, so signal and leave the pid file.
  const onProcessExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', onProcessExit);
  child.once('exit', (code, signal) => {
    process.removeListener('exit', onProcessExit);
    if (stopping === undefined) {
      logger.error({ code, signal }, 'embedded redis-server exited unexpectedly');
    }
  });
  logger.info({ socket, pid: child.pid }, 'embedded redis started');

  return {
    url: socket,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
        for (const path of cleanup) await rm(path, { recursive: true, force: true });
        logger.info({ socket }, 'embedded redis stopped');
      })();
      return stopping;
    },
  };
}

/**
 * Takes the pid file for this dataDir, or fails when its server is still alive. A pid file whose
 * process is gone (a crash, a reboot) is stale and replaced.
 */
async function claimPidFile(pidFile: string): Promise<void> {
  for (;;) {
    try {
      // Hold the file with our own pid until the server's pid replaces it.
      await writeFile(pidFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0 && (await isServerAlive(pid))) {
      throw new TunnelgateError(
        'CONFLICT',
        `a redis-server for ${join(pidFile, '..')} is already running (pid ${pid}, see ${pidFile})`,
        { hint: 'is another Tunnelgate using the same dataDir? Stop it, or give this one its own dataDir' },
      );
    }
    await rm(pidFile, { force: true });
  }
}

/** True when `pid` runs and, where /proc tells, is a redis-server or a Node process starting one. */
async function isServerAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  return cmdline === null || /redis|node/.test(cmdline);
}

/** `host:port` (or the socket path) of a client, without credentials. */
function endpointOf(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? path : `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}

/** Reads one value from a `CONFIG GET` reply: a flat `[name, value]` array or a RESP3 map. */
function readConfigValue(reply: unknown, name: string): string | undefined {
  if (Array.isArray(reply)) {
    const i = reply.indexOf(name);
    const value = i >= 0 ? reply[i + 1] : undefined;
    return typeof value === 'string' ? value : undefined;
  }
  if (reply !== null && typeof reply === 'object') {
    const value = (reply as Record<string, unknown>)[name];
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}
