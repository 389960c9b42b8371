/**
 * The project's docker-compose stack on the private engine of `docker-local`: a fresh copy of the
 * tracked tree, the README's Deployment steps run in it, and a test hub container (sshd with a
 * pinned host key, wg0 on wireguard-go) on the compose network. Helpers to run commands and wait
 * for container state; no timings are asserted.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCKER_LOCAL = join(ROOT, '..', 'shared', 'tools', 'docker-local');
const DOCKER_LOCAL_FALLBACK = '/work/shared/tools/docker-local';

/** The test hub image; rebuilt only when missing (its packages come from the Debian mirror). */
export const HUB_IMAGE = 'tunnelgate-test-hub:2';

/**
 * The test hub: sshd (root by key only, the host key the test pinned), wg0 from
 * /etc/wireguard/wg0.conf (wireguard-go where the kernel has no WireGuard), and a `wg` wrapper:
 * while /run/slow-wg-set holds a number of seconds, `wg set` records the SSH client's address in
 * /run/slow-wg-set.client and sleeps that long first (a slow hub job, as on a loaded hub).
 */
const HUB_DOCKERFILE = `FROM local/debian:bookworm-minbase
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    openssh-server wireguard-tools wireguard-go iproute2 && rm -rf /var/lib/apt/lists/* \\
 && mv /usr/bin/wg /usr/bin/wg.real
COPY wg /usr/bin/wg
COPY hub-start /usr/local/bin/hub-start
HEALTHCHECK --interval=1s --timeout=3s --retries=60 CMD ["sh", "-c", "ip link show wg0 && test -s /run/sshd.pid"]
ENTRYPOINT ["/usr/local/bin/hub-start"]
`;
const WG_WRAPPER = `#!/bin/sh
if [ "$1" = set ] && [ -s /run/slow-wg-set ]; then
  echo "$SSH_CONNECTION" > /run/slow-wg-set.client
  sleep "$(cat /run/slow-wg-set)"
fi
exec /usr/bin/wg.real "$@"
`;
const HUB_START = `#!/bin/sh
set -eu
mkdir -p /run/sshd /root/.ssh /etc/wireguard
install -m 600 /hub/authorized_keys /root/.ssh/authorized_keys
install -m 600 /hub/ssh_host_ed25519_key /etc/ssh/tg_host_ed25519_key
umask 077
printf '[Interface]\\nAddress = 10.66.1.1/24\\nListenPort = 51820\\nPrivateKey = %s\\nSaveConfig = false\\nMTU = 1420\\n' "$(wg genkey)" > /etc/wireguard/wg0.conf
export WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
wg-quick up wg0
cat > /etc/ssh/tg_sshd_config <<EOF
Port 22
HostKey /etc/ssh/tg_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxSessions 10
UseDNS no
SetEnv WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1
EOF
exec /usr/sbin/sshd -D -e -f /etc/ssh/tg_sshd_config
`;

/** What a command printed, and its exit code (never thrown). */
export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `argv` with `env`; resolves with its output and exit code, whatever the code. */
export async function sh(
  argv: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Ran> {
  const [file = 'true', ...args] = argv;
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    // A command that exits without reading its input closes the pipe: not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Like {@link sh}, but throws with the output when the exit code is not 0. */
export async function must(argv: readonly string[], options: Parameters<typeof sh>[1] = {}): Promise<string> {
  const result = await sh(argv, options);
  if (result.code !== 0)
    throw new Error(
      `${argv.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`.slice(-4000),
    );
  return result.stdout;
}

/** Starts the private engine (and its base images) and returns the env that reaches it. */
export async function dockerLocalUp(): Promise<NodeJS.ProcessEnv> {
  const tool = existsSync(DOCKER_LOCAL) ? DOCKER_LOCAL : DOCKER_LOCAL_FALLBACK;
  const out = await must([tool, 'up']);
  const host = /export DOCKER_HOST=(\S+)/.exec(out)?.[1];
  if (host === undefined) throw new Error(`docker-local up printed no DOCKER_HOST: ${out}`);
  return { ...process.env, DOCKER_HOST: host };
}

/** A copy of every tracked file of the repository (working-tree contents): a fresh checkout. */
export async function freshCheckout(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tg-docker-stack-'));
  const files = (await must(['git', '-C', ROOT, 'ls-files', '-z'])).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(ROOT, file), join(dir, file));
  }
  return dir;
}

/** The `sh` block of the README's Deployment section, one command a line (comments stripped). */
export function deploymentSteps(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Deployment'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

/** Builds the test hub image unless this engine has it. */
export async function ensureHubImage(env: NodeJS.ProcessEnv): Promise<void> {
  if ((await sh(['docker', 'image', 'inspect', HUB_IMAGE], { env })).code === 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'tg-hub-image-'));
  writeFileSync(join(dir, 'Dockerfile'), HUB_DOCKERFILE);
  writeFileSync(join(dir, 'wg'), WG_WRAPPER, { mode: 0o755 });
  writeFileSync(join(dir, 'hub-start'), HUB_START, { mode: 0o755 });
  // Host network: this engine has no masquerade, and apt needs the Debian mirror.
  await must(['docker', 'build', '-q', '--network', 'host', '-t', HUB_IMAGE, dir], { env });
}

/** Container state as `docker inspect` reports it. */
export interface ContainerState {
  id: string;
  name: string;
  service: string;
  health: string;
  status: string;
  exitCode: number;
  oomKilled: boolean;
  ip: string;
  user: string;
}

/** The state of containers by id. */
export async function inspect(env: NodeJS.ProcessEnv, ids: readonly string[]): Promise<ContainerState[]> {
  if (ids.length === 0) return [];
  const format =
    '{{.Id}}|{{.Name}}|{{index .Config.Labels "com.docker.compose.service"}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Status}}|{{.State.ExitCode}}|{{.State.OOMKilled}}|{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}|{{.Config.User}}';
  const out = await must(['docker', 'inspect', '--format', format, ...ids], { env });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [
        id = '',
        name = '',
        service = '',
        health = '',
        status = '',
        code = '0',
        oom = '',
        ip = '',
        user = '',
      ] = line.split('|');
      return {
        id,
        name: name.replace(/^\//, ''),
        service,
        health,
        status,
        exitCode: Number(code),
        oomKilled: oom === 'true',
        ip,
        user,
      };
    });
}

/** Resolves once `check` holds, polling; throws with the last value after `ms`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (!check(last)) {
    if (Date.now() > deadline)
      throw new Error(`${what}: still not there after ${ms} ms: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 500));
    last = await probe();
  }
  return last;
}
