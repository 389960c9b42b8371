import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as bootstrapScript from '../../../src/hub/bootstrap/script.js';
import { hubPrograms } from '../../../src/hub/programs/catalog.js';
import { buildScript } from '../../../src/hub/ssh/remote-script.js';
import { type Found, scanSource, shellCommands } from '../../support/spawned-programs.js';

const root = join(import.meta.dirname, '..', '..', '..');

/** scripts/deps.txt: program -> Debian package ("-": not installed by ensure-deps, with a reason). */
function depsList(): Map<string, { pkg: string; reason: string }> {
  const list = new Map<string, { pkg: string; reason: string }>();
  for (const line of readFileSync(join(root, 'scripts', 'deps.txt'), 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const [program = '', pkg = '', ...reason] = line.trim().split(/\s+/);
    list.set(program, { pkg, reason: reason.join(' ') });
  }
  return list;
}

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(join(root, dir))) {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) {
      if (entry !== 'node_modules' && entry !== 'fixtures') sources(path, out);
    } else if (/\.(ts|js|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

/**
 * child_process calls whose program is a variable, and why their programs are still scanned:
 * `file:expression` -> reason. Anything else spawning a non-literal program fails the test.
 */
const EXPLAINED_DYNAMIC: Record<string, string> = {
  'src/lab/host.ts:file': "run(argv): its callers' argv arrays (run/exec/execChecked/...) are scanned",
  'src/lab/hub.ts:file': 'host.argv(sshdArgv(...)): nsenter running sshd, both listed',
  'src/lab/faults.ts:file': 'host.argv([process.execPath, ...]): nsenter running node',
  'src/store/embedded-redis.ts:binary': "options.binary ?? 'redis-server'",
  'test/unit/hub/ssh/quote.test.ts:shell': "the shells of it.each(['/bin/sh', '/bin/bash'])",
  'test/support/docker-stack.ts:file':
    "run(argv): its callers' argv arrays (must/sh: docker, git, ...) are scanned",
  'test/integration/docker-stack.test.ts:file': 'shellArgv(as): docker-compose exec bot tunnelgate shell',
  'test/unit/hub/programs/guard.test.ts:path':
    'the hub program files the test installs (their sh is scanned)',
};

/** Every program the TypeScript tree runs, and the unexplained dynamic child_process calls. */
function scanTree(): { programs: Found[]; unexplained: Found[] } {
  const programs: Found[] = [];
  const unexplained: Found[] = [];
  for (const path of ['src', 'test', 'bench', 'scripts', 'bin'].flatMap((d) => sources(d))) {
    const scan = scanSource(path, readFileSync(join(root, path), 'utf8'));
    programs.push(...scan.programs);
    for (const d of scan.dynamic) {
      if (!(`${relative('.', path)}:${d.program}` in EXPLAINED_DYNAMIC)) unexplained.push(d);
    }
  }
  return { programs, unexplained };
}

/** Programs the hub side runs over SSH; a lab hub is a namespace of this machine, so they count. */
function hubSidePrograms(): Found[] {
  const found: Found[] = [];
  for (const program of hubPrograms()) {
    for (const name of shellCommands(program.text)) found.push({ program: name, where: program.name });
  }
  for (const [name, value] of Object.entries(bootstrapScript)) {
    if (typeof value !== 'string') continue;
    for (const program of shellCommands(value)) found.push({ program, where: `bootstrap ${name}` });
  }
  // The tools the bootstrap's preflight demands on a hub.
  const tools = /for c in ([^;]+); do/.exec(bootstrapScript.PREFLIGHT_SH)?.[1] ?? '';
  for (const program of tools.split(' ')) found.push({ program, where: 'bootstrap preflight' });
  // The wrapper every batched remote script (runScript) puts around its steps.
  const wrapper = buildScript([{ name: 'step', argv: ['true'], input: 'x' }]).text;
  for (const program of shellCommands(wrapper)) found.push({ program, where: 'remote-script wrapper' });
  return found;
}

function shellScripts(): Found[] {
  return readdirSync(join(root, 'scripts'))
    .filter((name) => name.endsWith('.sh'))
    .flatMap((name) => {
      const text = readFileSync(join(root, 'scripts', name), 'utf8');
      return shellCommands(text).map((program) => ({ program, where: `scripts/${name}` }));
    });
}

/** The bootstrap installs the catalog's programs on a hub; tests run them there by name. */
const installedByBootstrap = new Set(hubPrograms().map((p) => p.name));

function missingFrom(list: Map<string, unknown>, found: readonly Found[]): string[] {
  const missing = found.filter((f) => !list.has(f.program) && !installedByBootstrap.has(f.program));
  return [...new Set(missing.map((f) => `${f.program} (${f.where})`))];
}

describe('scripts/deps.txt, the one list scripts/ensure-deps.sh installs', () => {
  const list = depsList();

  it('lists every program the TypeScript tree spawns (product, lab, tests, demo, benchmarks)', () => {
    const { programs, unexplained } = scanTree();
    expect(programs.length).toBeGreaterThan(100);
    expect(unexplained).toEqual([]);
    expect(missingFrom(list, programs)).toEqual([]);
  });

  it('lists every program the hub side runs (hub programs, bootstrap, remote-script wrapper)', () => {
    const found = hubSidePrograms();
    expect(found.map((f) => f.program)).toEqual(
      expect.arrayContaining(['wg', 'nft', 'awk', 'visudo', 'useradd']),
    );
    expect(missingFrom(list, found)).toEqual([]);
  });

  it("lists every program the repository's own shell scripts run", () => {
    const found = shellScripts();
    expect(found.map((f) => f.program)).toEqual(expect.arrayContaining(['npm', 'apt-get', 'sha256sum']));
    expect(missingFrom(list, found)).toEqual([]);
  });

  it('names a Debian package for every program, or says why not', () => {
    for (const [program, { pkg, reason }] of list) {
      expect(pkg, program).toMatch(/^([a-z0-9][a-z0-9.+-]+|-)$/);
      if (pkg === '-') expect(reason, program).not.toBe('');
    }
  });

  it('is what ensure-deps.sh reads (no second, hard-coded list there)', () => {
    const script = readFileSync(join(root, 'scripts', 'ensure-deps.sh'), 'utf8');
    expect(script).toContain('done <scripts/deps.txt');
    expect(script).not.toMatch(/declare -A/);
  });
});

describe('the spawned-program scan', () => {
  const list = depsList();
  const scan = (text: string) => scanSource('x.ts', text).programs;

  it("catches a new spawn('busybox', ...) and an argv array run in a lab namespace", () => {
    const found = scan(`import { spawn, execFileSync } from 'node:child_process';
      spawn('busybox', ['nc', '-l', '-p', '9']);
      execFileSync('/usr/bin/socat', ['-']);
      await hub.exec(['busybox', 'nc', '-l']);
      await must(hub, ['nsenter', '-t', '1', '-n', '--', 'tcpdump', '-i', 'eth0']);
      const step = { name: 'x', argv: ['sh', '-c', 'conntrack -L | grep -c udp'] };`);
    const missing = new Set(missingFrom(list, found).map((m) => m.split(' ')[0]));
    expect([...missing]).toEqual(['busybox', 'socat', 'tcpdump', 'conntrack']);
  });

  it('reports a child_process call whose program is not a literal', () => {
    const { dynamic } = scanSource('x.ts', `import { spawn as go } from 'node:child_process'; go(cmd, []);`);
    expect(dynamic).toEqual([{ program: 'cmd', where: 'x.ts:1' }]);
  });

  it('finds the commands of sh text, not its quoted data, awk programs, builtins or functions', () => {
    const text = `set -eu
f() { wg show "$1" | awk '{ print busybox }'; }
case $1 in json) exec nft -j list ruleset ;; text | x) echo "not; busybox" ;; esac
end=$(( $(date +%s) + 1 ))
for c in busybox socat; do command -v "$c" >/dev/null 2>&1 || x="$(dirname "$c")"; done
if [ -f a ] && ! cmp -s a b; then mv -f a b 2>/dev/null; fi
f x`;
    expect(shellCommands(text).sort()).toEqual(['awk', 'cmp', 'date', 'dirname', 'mv', 'nft', 'wg']);
  });
});
