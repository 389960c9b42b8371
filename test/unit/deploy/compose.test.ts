import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { processStopBoundMs } from '../../../src/cli/runtime.js';
import { parseConfig } from '../../../src/config/load.js';

const root = join(import.meta.dirname, '..', '..', '..');
const read = (name: string) => readFileSync(join(root, name), 'utf8');

/**
 * Every repository file `entry` reaches through relative imports (static and dynamic), as paths
 * from the repository root: what the image must contain for the CLI to start.
 */
function reachableFrom(entry: string): string[] {
  const seen = new Set<string>();
  const todo = [entry];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, spec] of read(file).matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), spec ?? ''));
      const source = existsSync(join(root, target)) ? target : target.replace(/\.js$/, '.ts');
      if (existsSync(join(root, source))) todo.push(source);
    }
  }
  return [...seen].sort();
}

const HealthCheck = z.object({ test: z.array(z.string()) });
const Service = z.object({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.array(z.string()).optional(),
  container_name: z.string().optional(),
  ports: z.array(z.string()).optional(),
  env_file: z.unknown().optional(),
  init: z.boolean().optional(),
  environment: z.record(z.string(), z.string()).optional(),
  volumes: z.array(z.string()).optional(),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
  healthcheck: HealthCheck.optional(),
  stop_grace_period: z.string().optional(),
});
const Compose = z.object({
  services: z.object({ redis: Service, bot: Service, worker: Service }),
  volumes: z.record(z.string(), z.unknown()),
});

/** Every file the CLI's entry point reaches: what the image must contain for it to start. */
const reachable = reachableFrom('bin/tunnelgate.js');

/** docker-compose.yml as compose reads it (YAML merge keys on). */
const compose = Compose.parse(parse(read('docker-compose.yml'), { merge: true }));
const { redis, bot, worker } = compose.services;

/** The smallest config: every shutdown setting at its default. */
const HUB_ONLY = `hubs:
  - { name: hub1, host: 192.0.2.1, user: root, privateKeyPath: /k, knownHosts: /kh, endpoint: "vpn.example.com:51820", subnet: 10.6.0.0/24 }
`;

/** Seconds of a compose duration such as `30s` or `1m`. */
const seconds = (text: string | undefined) => {
  const match = /^(\d+)(s|m)$/.exec(text ?? '');
  return match === null ? 0 : Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};

describe('docker-compose.yml', () => {
  it('runs redis with AOF on, no eviction, a named volume for its data and a PING health check', () => {
    const command = redis.command ?? [];
    expect(command[command.indexOf('--appendonly') + 1]).toBe('yes');
    expect(command[command.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
    const data = redis.volumes?.find((v) => v.endsWith(':/data'));
    const volume = data?.split(':')[0] ?? '';
    expect(Object.keys(compose.volumes)).toContain(volume);
    expect(redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
  });

  it('starts bot and worker from the image under an init, only once redis is healthy', () => {
    for (const service of [bot, worker]) {
      expect(service.build ?? service.image).toBeDefined();
      expect(service.init).toBe(true);
      expect(service.depends_on?.redis?.condition).toBe('service_healthy');
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service.environment?.TUNNELGATE_CONFIG).toBe('/config/tunnelgate.yaml');
    }
    expect(bot.command).toEqual(['bot']);
    expect(worker.command).toEqual(['worker']);
  });

  it('gives the bot the chat secrets and no SSH key, and workers the SSH key and no chat secret', () => {
    const chat = ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'DISCORD_TOKEN'];
    for (const service of [bot, worker]) expect(service.env_file).toBeUndefined();
    expect(Object.keys(bot.environment ?? {})).toEqual(expect.arrayContaining(chat));
    expect(Object.keys(worker.environment ?? {}).filter((name) => chat.includes(name))).toEqual([]);
    expect(bot.volumes?.some((v) => v.includes('/config/keys'))).toBe(false);
    expect(worker.volumes).toContain('./keys:/config/keys:ro');
  });

  it('mounts the config read-only, and keeps dataDir in one named volume every container shares', () => {
    const dataDir = /TUNNELGATE_DATA_DIR=(\S+)/.exec(read('Dockerfile'))?.[1];
    expect(dataDir).toBe('/app/var');
    for (const service of [bot, worker]) {
      expect(service.volumes).toContain('./tunnelgate.yaml:/config/tunnelgate.yaml:ro');
      const writable = service.volumes?.filter((v) => !v.endsWith(':ro')) ?? [];
      expect(writable).toEqual([`tunnelgate-data:${dataDir}`]);
    }
    expect(Object.keys(compose.volumes)).toContain('tunnelgate-data');
  });

  it('publishes the Slack HTTP port on the bot only; the worker can be scaled (no name, no host ports)', () => {
    // Compose's own variable syntax, not a JavaScript template.
    expect(bot.ports).toEqual([`$${'{'}SLACK_HTTP_PORT:-3000}:3000`]);
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
  });

  it('gives every container longer to stop than the whole bounded shutdown takes', () => {
    const bound = processStopBoundMs(parseConfig(HUB_ONLY, { baseDir: '/', env: {} }));
    for (const service of [bot, worker])
      expect(seconds(service.stop_grace_period) * 1000).toBeGreaterThan(bound);
  });

  it('ships an .env.example naming every variable the compose file reads, and keeps secrets out of git and the image', () => {
    const example = read('.env.example');
    const used = [...read('docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1] ?? '');
    expect(used).toContain('TUNNELGATE_SECRET');
    for (const name of new Set(used)) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(read('.dockerignore').split('\n')).toEqual(
      expect.arrayContaining(['.env', 'keys', 'tunnelgate.yaml']),
    );
    expect(read('.gitignore').split('\n')).toEqual(
      expect.arrayContaining(['.env', 'keys/', 'tunnelgate.yaml']),
    );
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => /^[A-Z]+\s/.test(line));
  const stages = instructions.filter((line) => line.startsWith('FROM '));

  it('builds in two stages on node:20-bookworm-slim and installs with npm ci in the build stage', () => {
    expect(stages).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM node:20-bookworm-slim AS runtime']);
    const buildStage = instructions.slice(0, instructions.indexOf(stages[1] ?? ''));
    expect(buildStage.some((line) => /^RUN npm ci\b/.test(line))).toBe(true);
    expect(instructions).toContain('COPY --from=build /app/node_modules ./node_modules');
  });

  it('runs as a non-root user, through bin/tunnelgate.js, with a /healthz health check', () => {
    const runtimeStage = instructions.slice(instructions.indexOf(stages[1] ?? ''));
    const user = runtimeStage.filter((line) => line.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    expect(instructions).toContain('ENTRYPOINT ["node", "bin/tunnelgate.js"]');
    expect(instructions.find((line) => line.startsWith('HEALTHCHECK '))).toMatch(/\/healthz/);
  });

  it('puts a `tunnelgate` command on PATH that runs the same entry point (for `docker-compose exec`)', () => {
    const install = instructions.find((line) => line.includes('/usr/local/bin/tunnelgate'));
    expect(install).toMatch(/exec node \/app\/bin\/tunnelgate\.js/);
  });

  it('copies the folders the entry point reaches, derived from its imports, and nothing it leaves out', () => {
    const copied = instructions
      .filter((line) => line.startsWith('COPY ') && !line.includes('--from='))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    const reachedFolders = [...new Set(reachable.map((file) => file.split('/')[0] ?? ''))].sort();
    const copiedFolders = copied.filter((source) => !source.includes('.')).sort();
    expect(copiedFolders).toEqual(reachedFolders);
    const missing = reachable.filter(
      (file) => !copied.some((source) => file === source || file.startsWith(`${source}/`)),
    );
    expect(missing).toEqual([]);
  });

  it('ships no module that .dockerignore leaves out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('!'));
    const dropped = reachable.filter((file) =>
      ignored.some((pattern) => file === pattern || file.startsWith(`${pattern.replace(/\/$/, '')}/`)),
    );
    expect(dropped).toEqual([]);
  });
});

describe('one source root', () => {
  const sourceFolders = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  it('keeps every module the entry point reaches under src/ (bin/ holds only the entry point)', () => {
    expect(reachable.filter((file) => !file.startsWith('src/') && file !== 'bin/tunnelgate.js')).toEqual([]);
  });

  it('type-checks src/ and every other top-level folder that holds TypeScript', () => {
    const { include } = z.object({ include: z.array(z.string()) }).parse(JSON.parse(read('tsconfig.json')));
    const withTypeScript = readdirSync(root, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
      .map((entry) => entry.name)
      .filter((folder) =>
        readdirSync(join(root, folder), { recursive: true }).some((f) => String(f).endsWith('.ts')),
      )
      .sort();
    expect(include.filter((entry) => !entry.includes('*')).sort()).toEqual(withTypeScript);
  });

  it('names every folder under src/ in the README layout, and no folder that is not there', () => {
    const readme = read('README.md');
    const layout = readme.slice(
      readme.indexOf('## Layout'),
      readme.indexOf('\n## ', readme.indexOf('## Layout') + 1),
    );
    const named = [...new Set([...layout.matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1] ?? ''))].sort();
    expect(named).toEqual(sourceFolders);
  });
});
