/**
 * The argument and input guard of the installed hub programs (program-file.ts), run by a real sh
 * exactly as sudo runs the installed files, with each program's body replaced by a recorder that
 * prints `through`: what the workers send gets through, and neither the attacks the security
 * review found (#15.10) nor a seeded fuzzer's random hostile calls ever do.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubConfig } from '../../../../src/config/schema.js';
import { readSteps } from '../../../../src/hub/facts/facts.js';
import { adoptStep } from '../../../../src/hub/programs/adopt.js';
import { hubPrograms } from '../../../../src/hub/programs/catalog.js';
import { setExpiresStep } from '../../../../src/hub/programs/expiry.js';
import { fixSteps } from '../../../../src/hub/programs/fixes.js';
import { dumpStep, provisionSteps, readConfStep, removeSteps } from '../../../../src/hub/programs/peers.js';
import { PROGRAM_CWD, renderProgramFile } from '../../../../src/hub/programs/program-file.js';
import type { HubProgram } from '../../../../src/hub/programs/registry.js';
import {
  commitSteps,
  committedSection,
  stagedSection,
  stageSteps,
  watchSteps,
} from '../../../../src/hub/programs/rotation.js';
import type { Step } from '../../../../src/hub/ssh/remote-script.js';
import { renderPeerSection } from '../../../../src/wg/conf.js';
import { PublicKey } from '../../../../src/wg/keys.js';
import { formatPeerMetaLine, PeerMeta } from '../../../../src/wg/peer-meta.js';
import { SUDO_HUB } from '../../../support/hub-config.js';

const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const KEY2 = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';
const meta = PeerMeta.parse({
  peer: 'bob-laptop',
  owner: 'bob',
  device: 'laptop',
  request: 'r-abcdef',
  created: '2026-11-24T15:00:00.000Z',
  expires: null,
  mode: 'split',
});
const SECTION = renderPeerSection({ publicKey: PublicKey.parse(KEY), allowedIps: ['10.6.0.2/32'], meta });

let root = '';
let hub: HubConfig;
let confDir = '';
const files = new Map<string, string>();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tg-guard-'));
  confDir = join(root, 'wireguard');
  mkdirSync(confDir);
  mkdirSync(join(root, 'cwd'));
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(confDir, 'wg0.conf'), '[Interface]\nListenPort = 51820\n', { mode: 0o600 });
  writeFileSync(join(confDir, 'wg0.key'), 'secret\n', { mode: 0o600 });
  symlinkSync('/etc/passwd', join(confDir, 'link'));
  hub = HubConfig.parse({ ...SUDO_HUB, configPath: join(confDir, 'wg0.conf') });
  for (const program of hubPrograms()) {
    const recorder: HubProgram = { ...program, text: 'echo through' };
    const text = renderProgramFile(recorder, hub).replace(`cd ${PROGRAM_CWD} `, `cd ${join(root, 'cwd')} `);
    const path = join(root, 'bin', program.name);
    writeFileSync(path, text, { mode: 0o755 });
    files.set(program.name, path);
  }
});
afterAll(() => {
  if (root !== '') rmSync(root, { recursive: true, force: true });
});

interface Call {
  program: string;
  args: string[];
  input?: string;
}

/** Runs one installed program file; `through` is true when the guard let the call reach the body. */
function guarded(call: Call): { through: boolean; code: number | null; stderr: string } {
  const path = files.get(call.program);
  if (path === undefined) throw new Error(`no program ${call.program}`);
  const out = spawnSync(path, call.args, { input: call.input ?? '', encoding: 'utf8' });
  return { through: out.stdout.includes('through'), code: out.status, stderr: out.stderr };
}

/** Every program call the workers, runbooks and fixes make, as the guard sees it. */
function workerCalls(): Call[] {
  const keys = { oldPublicKey: KEY, newPublicKey: KEY2 };
  const steps: Step[] = [
    ...provisionSteps(hub, { publicKey: KEY, allowedIps: ['10.6.0.2/32'], section: SECTION }),
    ...removeSteps(hub, KEY),
    ...stageSteps(hub, KEY2, stagedSection(KEY2, { ...meta, rotatedFrom: PublicKey.parse(KEY) })),
    ...watchSteps(hub, keys, ['10.6.0.2/32'], committedSection(KEY2, ['10.6.0.2/32'], meta), {
      sliceSec: 10,
      pollSec: 0.05,
    }),
    ...commitSteps(hub, keys, ['10.6.0.2/32'], committedSection(KEY2, ['10.6.0.2/32'], meta)),
    ...readSteps(hub, { ping: [], pmtuPeer: null }),
    ...readSteps(hub, { ping: [], pmtuPeer: KEY }),
    dumpStep(hub),
    readConfStep(hub),
    setExpiresStep(hub, KEY, '2026-12-24T15:00:00.000Z'),
    adoptStep('adopt', hub, KEY, formatPeerMetaLine(meta)),
    ...fixSteps(hub, { type: 'enable-forwarding' }),
    ...fixSteps(hub, { type: 'chmod-600', paths: [join(confDir, 'wg0.key')] }),
  ];
  return steps.flatMap((step) =>
    step.program === undefined
      ? []
      : [
          {
            program: step.program,
            args: step.argv.slice(4),
            ...(step.input === undefined ? {} : { input: step.input }),
          },
        ],
  );
}

describe('the hub program guard', () => {
  it('lets through every call the workers make, for every installed program', () => {
    const calls = workerCalls();
    for (const call of calls)
      expect(guarded(call), `${call.program} ${call.args.join(' ')}`).toMatchObject({ through: true });
    const covered = new Set(calls.map((c) => c.program));
    // masquerade's only caller is a stored finding; its call is a plain one.
    expect(guarded({ program: 'tunnelgate-masquerade', args: ['eth0', '10.6.0.0/24'] }).through).toBe(true);
    covered.add('tunnelgate-masquerade');
    expect([...covered].sort()).toEqual(hubPrograms().map((p) => p.name));
  });

  it("refuses an empty argument, which listed / as root through tunnelgate-modes ''", () => {
    for (const call of [
      { program: 'tunnelgate-modes', args: [''] },
      { program: 'tunnelgate-ruleset', args: [''] },
      { program: 'tunnelgate-wg-remove', args: ['wg0', ''] },
      { program: 'tunnelgate-set-expires', args: [hub.configPath, KEY, ''] },
    ]) {
      const result = guarded(call);
      expect(result, call.program).toMatchObject({ through: false, code: 64 });
      expect(result.stderr).toContain('is empty');
    }
  });

  it('refuses a config file argument other than the pinned path, which left a root-owned temp file', () => {
    for (const conf of [
      'wg0.conf',
      './wg0.conf',
      `${confDir}/other.conf`,
      `${hub.configPath}.tunnelgate.tmp`,
    ]) {
      const result = guarded({ program: 'tunnelgate-persist', args: ['wg0', conf, KEY], input: SECTION });
      expect(result, conf).toMatchObject({ through: false, code: 64 });
      expect(result.stderr).toContain("this hub's config file is");
    }
    expect(guarded({ program: 'tunnelgate-unpersist', args: [KEY, hub.configPath] }).through).toBe(false);
    expect(guarded({ program: 'tunnelgate-wg-set', args: ['wg0', KEY, '10.6.0.2/32'] }).through).toBe(false);
  });

  it('refuses input with a NUL byte, which passed the line check as a line of its own', () => {
    for (const input of [`${SECTION}\0\n`, `${SECTION}\0`, SECTION.replace('[Peer]', '[Peer]\0')]) {
      const result = guarded({ program: 'tunnelgate-persist', args: ['wg0', hub.configPath, KEY], input });
      expect(result).toMatchObject({ through: false, code: 64 });
      expect(result.stderr).toContain('NUL');
    }
  });

  it('refuses input without a [Peer] header, which was appended to the [Interface] section', () => {
    const headless = `PublicKey = ${KEY}\nAllowedIPs = 10.6.0.2/32\n`;
    for (const input of [headless, `\n${headless}[Peer]\n`, '', `${SECTION}${SECTION}`]) {
      const result = guarded({ program: 'tunnelgate-persist', args: ['wg0', hub.configPath, KEY], input });
      expect(result, JSON.stringify(input)).toMatchObject({ through: false, code: 64 });
    }
  });

  it('lets the hub-wide PMTU probe through with `any`, and refuses the `-` it used to send', () => {
    expect(guarded({ program: 'tunnelgate-pmtu', args: ['wg0', 'any'] }).through).toBe(true);
    expect(guarded({ program: 'tunnelgate-pmtu', args: ['wg0', '-'] }).through).toBe(false);
  });
});

/** mulberry32: a small seeded PRNG, so the fuzzer's calls are the same on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Argument values no program may take, whatever its position. */
const HOSTILE = [
  '/etc/shadow',
  '/etc/passwd',
  '/',
  '..',
  '.',
  '-h',
  '--help',
  '-rf',
  '$(id)',
  '`id`',
  'a;id',
  'a b',
  '*',
  'x\ny',
  '../wireguard/wg0.conf',
  'empty/../../etc',
  '~root',
  '\t',
  ' ',
];

describe('the guard fuzzer (fixed seed, bounded)', () => {
  it('lets none of 400 random hostile calls through to a program', () => {
    const random = prng(0x7e57_15_10);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const valid = workerCalls();
    const programs = new Map(hubPrograms().map((p) => [p.name, p]));
    const hostileIn = [
      `${confDir}/..`,
      `${confDir}/link`,
      `${confDir}/sub/x`,
      `${confDir}/`,
      `${hub.configPath}/`,
    ];
    const escaped: string[] = [];
    for (let i = 0; i < 400; i++) {
      const base = pick(valid);
      const program = programs.get(base.program) as HubProgram;
      const call: Call = { ...base, args: [...base.args] };
      const poisons: Array<() => boolean> = [
        () => {
          call.args.splice(Math.floor(random() * (call.args.length + 1)), 0, '');
          return true;
        },
        () => {
          const value = pick([...HOSTILE, ...hostileIn]);
          if (call.args.length === 0 || random() < 0.3) call.args.push(value);
          else call.args[Math.floor(random() * call.args.length)] = value;
          return true;
        },
        () => {
          if (program.configArg === undefined) return false;
          call.args[program.configArg - 1] = pick([
            'wg0.conf',
            `${confDir}/wg0.key`,
            '/tmp/wg0.conf',
            `${hub.configPath}.x`,
          ]);
          return true;
        },
        () => {
          if (program.interfaceFirst !== true) return false;
          call.args[0] = pick(['wg1', 'eth0', 'lo', 'wg0x', 'WG0']);
          return true;
        },
        () => {
          if (program.arity === undefined) return false;
          call.args.push(pick(['json', 'x', KEY, '10.6.0.2/32']));
          return true;
        },
        () => {
          if (call.input === undefined) return false;
          const at = Math.floor(random() * (call.input.length + 1));
          call.input = `${call.input.slice(0, at)}${pick(['\0', '\0\n', '\n\0\n'])}${call.input.slice(at)}`;
          return true;
        },
        () => {
          if (call.input === undefined) return false;
          call.input = pick([
            call.input.replace('[Peer]', ''),
            call.input.replace('[Peer]', '[Interface]'),
            `${call.input}\n[Peer]\nPublicKey = ${KEY2}\nAllowedIPs = 10.6.0.9/32\n`,
            `${call.input}PostUp = id\n`,
            `AllowedIPs = 10.6.0.9/32\n${call.input}`,
            '',
          ]);
          return true;
        },
      ];
      let applied = 0;
      const wanted = 1 + Math.floor(random() * 3);
      for (let tries = 0; applied < wanted && tries < 20; tries++) if (pick(poisons)()) applied++;
      const result = guarded(call);
      if (result.through || result.code !== 64) escaped.push(JSON.stringify(call));
    }
    expect(escaped).toEqual([]);
  });
});
