/**
 * The fuzzer of the outside review, as a property test with a fixed seed and a bounded count:
 * hostile text through the grammar and hostile option values through the Discord builder. Every
 * input is either refused with INPUT_INVALID or becomes a command the schema accepts unchanged, in
 * which no string holds a control character, line separator or bidi override, and every string
 * but a free-text reason holds only identifier characters (nothing a shell would read); and every
 * value of an accepted command, quoted as hub commands are, reaches a real shell as one argument.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandFromInvocation } from '../../../src/adapters/discord/slash-command.js';
import { parseCommand } from '../../../src/bot/grammar.js';
import { TunnelgateError } from '../../../src/core/errors.js';
import { type Command, UNSAFE_TEXT, validCommand } from '../../../src/domain/models/command.js';
import { commandLine } from '../../../src/hub/ssh/quote.js';

const SEED = 0x5eed_2026;
const COUNT = 4_000;

/** mulberry32: a small deterministic PRNG, so a failure reproduces from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const VERBS = [
  'request',
  'approve',
  'deny',
  'revoke',
  'offboard',
  'list',
  'status',
  'log',
  'diagnose',
  'audit',
  'fix',
  'rotate',
  'extend',
  'resend',
  'breakglass',
  'review',
  'reconcile',
  'adopt',
  'help',
];
const FRAGMENTS = [
  ...VERBS,
  '/vpn',
  'laptop',
  'alice-laptop',
  'r-7k3m9q',
  'x-7k3m9q',
  'k-7k3m9q',
  'f-3k9m2q7a',
  'hub1',
  '8h',
  '100000000d',
  '--hub',
  '--full',
  '--pubkey',
  '--for',
  '--reason',
  '--approve',
  'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  ';',
  '&&',
  '||',
  '|',
  '`id`',
  '$(id)',
  '\u0024{IFS}',
  '>',
  '<',
  '*',
  '?',
  '~',
  '!',
  '#',
  '\\',
  '"',
  "'",
  '\u201c',
  '\u201d',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '\0',
  '\u0007',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u2028',
  '\u2029',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
  '\u200b',
  '\ufeff',
  'é',
  '𝓪',
  '../',
  '/etc/passwd',
  '-',
  '--',
  '=',
  '%00',
  'ALICE',
  'a'.repeat(70),
];
const UNSAFE_PIECES = FRAGMENTS.filter((f) => UNSAFE_TEXT.test(f));

function pick<T>(rand: () => number, from: readonly T[]): T {
  return from[Math.floor(rand() * from.length)] as T;
}

function hostile(rand: () => number, parts: number): string {
  let text = '';
  for (let i = 0; i < parts; i++) text += pick(rand, FRAGMENTS) + (rand() < 0.5 ? ' ' : '');
  return text;
}

/** Every string in a command, with its field name. */
function strings(value: unknown, field = ''): [string, string][] {
  if (typeof value === 'string') return [[field, value]];
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, k));
  return [];
}

function assertSafe(command: Command): void {
  expect(validCommand(command)).toEqual(command);
  for (const [field, text] of strings(command)) {
    expect(UNSAFE_TEXT.test(text), `${field} = ${JSON.stringify(text)}`).toBe(false);
    if (field !== 'reason') expect(text, field).toMatch(/^[A-Za-z0-9._+/=-]*$/);
  }
}

describe(`the command fuzzer (seed ${SEED.toString(16)}, ${COUNT} inputs per entry point)`, () => {
  it('the grammar refuses with INPUT_INVALID or yields a schema-valid command with no unsafe text', () => {
    const rand = prng(SEED);
    let accepted = 0;
    let refusedUnsafe = 0;
    for (let i = 0; i < COUNT; i++) {
      const line = `${rand() < 0.8 ? '/vpn ' : ''}${pick(rand, VERBS)} ${hostile(rand, 1 + Math.floor(rand() * 6))}`;
      const result = parseCommand(line);
      if (result.ok) {
        accepted += 1;
        assertSafe(result.command);
      } else {
        expect(result.reply.code).toBe('INPUT_INVALID');
        if (UNSAFE_PIECES.some((p) => line.replaceAll('\t', ' ').includes(p))) refusedUnsafe += 1;
      }
    }
    // The run exercised both sides: many valid commands, and many refusals of unsafe text.
    expect(accepted).toBeGreaterThan(COUNT / 50);
    expect(refusedUnsafe).toBeGreaterThan(COUNT / 10);
  });

  it('the Discord builder refuses with INPUT_INVALID or yields a schema-valid command with no unsafe text', () => {
    const rand = prng(SEED + 1);
    const options = [
      'device',
      'hub',
      'pubkey',
      'for',
      'reason',
      'full',
      'request_id',
      'peer',
      'user',
      'target',
      'finding_id',
      'approve',
      'scope',
      'count',
      'topic',
    ];
    let accepted = 0;
    for (let i = 0; i < COUNT; i++) {
      const chosen: Record<string, string | number | boolean> = {};
      for (let n = Math.floor(rand() * 4); n > 0; n--) {
        const name = pick(rand, options);
        const roll = rand();
        chosen[name] =
          roll < 0.1
            ? rand() < 0.5
            : roll < 0.2
              ? Math.floor(rand() * 400) - 100
              : hostile(rand, 1 + Math.floor(rand() * 3)).trim();
      }
      let command: Command;
      try {
        command = commandFromInvocation({ subcommand: pick(rand, VERBS), options: chosen });
      } catch (err) {
        expect(err).toBeInstanceOf(TunnelgateError);
        expect((err as TunnelgateError).code).toBe('INPUT_INVALID');
        continue;
      }
      accepted += 1;
      assertSafe(command);
    }
    expect(accepted).toBeGreaterThan(COUNT / 50);
  });

  it('every value of an accepted command reaches a real /bin/sh recorder as exactly one argument', () => {
    const rand = prng(SEED + 2);
    const values: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const line = `/vpn ${pick(rand, VERBS)} ${hostile(rand, 1 + Math.floor(rand() * 6))}`;
      const result = parseCommand(line);
      if (result.ok) values.push(...strings(result.command).map(([, text]) => text));
    }
    expect(values.length).toBeGreaterThan(COUNT / 50);
    // The recorder writes each argument it got, NUL-terminated, to a file; a value that became
    // shell syntax would split, vanish, or leave a file behind in the working directory.
    const dir = mkdtempSync(join(tmpdir(), 'tg-fuzz-shell-'));
    try {
      const recorder = join(dir, 'recorder');
      writeFileSync(recorder, `#!/bin/sh\nfor a in "$@"; do printf '%s\\0' "$a"; done >> "${dir}/argv"\n`, {
        mode: 0o755,
      });
      for (let at = 0; at < values.length; at += 200) {
        const batch = values.slice(at, at + 200);
        rmSync(join(dir, 'argv'), { force: true });
        execFileSync('/bin/sh', ['-c', commandLine([recorder, ...batch])], { cwd: dir });
        const seen = readFileSync(join(dir, 'argv'), 'utf8').split('\0').slice(0, -1);
        expect(seen).toEqual(batch);
      }
      expect(readdirSync(dir).sort()).toEqual(['argv', 'recorder']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every unsafe character is refused in a reason, from the grammar and from Discord options alike', () => {
    for (const piece of UNSAFE_PIECES) {
      const reason = `needed ${piece}for the on-call week`;
      const text = parseCommand(`/vpn deny r-7k3m9q "${reason}"`);
      expect(text.ok, JSON.stringify(piece)).toBe(false);
      expect(() =>
        commandFromInvocation({ subcommand: 'deny', options: { request_id: 'r-7k3m9q', reason } }),
      ).toThrow(TunnelgateError);
      expect(() => validCommand({ verb: 'deny', requestId: 'r-7k3m9q', reason })).toThrow(/bidi overrides/);
    }
  });
});
