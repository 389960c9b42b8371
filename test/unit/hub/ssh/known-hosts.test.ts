import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  entryMatches,
  fingerprint,
  formatKnownHostsLine,
  knownHostsName,
  parseKnownHosts,
  parsePublicKey,
} from '../../../../src/hub/ssh/known-hosts.js';

const dir = mkdtempSync(join(tmpdir(), 'tg-known-hosts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(name: string, type = 'ed25519'): { line: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', path]);
  const line = readFileSync(`${path}.pub`, 'utf8').trim();
  const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${path}.pub`], { encoding: 'utf8' });
  return { line, fingerprint: fp.split(' ')[1] as string };
}

const a = keygen('a');
const b = keygen('b');
const rsa = keygen('rsa', 'rsa');
const keyOf = (line: string) => line.split(' ').slice(0, 2).join(' ');

function pinnedFor(text: string, host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  return parseKnownHosts(text)
    .filter((e) => entryMatches(e, name))
    .map((e) => `${e.revoked ? '@revoked ' : ''}${fingerprint(e.key)}`);
}

describe('fingerprint', () => {
  it('matches ssh-keygen -l for ed25519 and rsa keys', () => {
    for (const k of [a, b, rsa]) {
      const pub = parsePublicKey(k.line);
      expect(pub).toBeDefined();
      expect(fingerprint(pub?.key ?? Buffer.alloc(0))).toBe(k.fingerprint);
    }
  });
});

describe('knownHostsName', () => {
  it('uses the bare host on port 22 and [host]:port otherwise', () => {
    expect(knownHostsName('Hub.Example.com', 22)).toBe('hub.example.com');
    expect(knownHostsName('198.51.100.2', 2222)).toBe('[198.51.100.2]:2222');
    expect(knownHostsName('2001:db8::1', 22)).toBe('2001:db8::1');
  });
});

describe('parseKnownHosts', () => {
  it('matches plain names, [host]:port, comma lists and skips comments and junk', () => {
    const text = [
      '# a comment',
      '',
      `hub1.example.com,198.51.100.2 ${keyOf(a.line)} comment here`,
      `[198.51.100.2]:2222 ${keyOf(b.line)}`,
      'garbage line',
      `other.example.com ssh-ed25519 !!notbase64!!`,
      `mismatch.example.com ssh-rsa ${keyOf(a.line).split(' ')[1]}`,
      `  indented.example.com ${keyOf(rsa.line)}`,
    ].join('\n');
    expect(pinnedFor(text, '198.51.100.2', 22)).toEqual([a.fingerprint]);
    expect(pinnedFor(text, 'HUB1.example.com', 22)).toEqual([a.fingerprint]);
    expect(pinnedFor(text, '198.51.100.2', 2222)).toEqual([b.fingerprint]);
    expect(pinnedFor(text, 'hub1.example.com', 2222)).toEqual([]);
    expect(pinnedFor(text, 'mismatch.example.com', 22)).toEqual([]);
    expect(pinnedFor(text, 'other.example.com', 22)).toEqual([]);
    expect(pinnedFor(text, 'indented.example.com', 22)).toEqual([rsa.fingerprint]);
  });

  it('supports wildcards and negation', () => {
    const text = `*.example.com,!bad.example.com ${keyOf(a.line)}\n[10.0.0.?]:2222 ${keyOf(b.line)}`;
    expect(pinnedFor(text, 'hub.example.com', 22)).toEqual([a.fingerprint]);
    expect(pinnedFor(text, 'bad.example.com', 22)).toEqual([]);
    expect(pinnedFor(text, 'example.com', 22)).toEqual([]);
    expect(pinnedFor(text, '10.0.0.7', 2222)).toEqual([b.fingerprint]);
    expect(pinnedFor(text, '10.0.0.17', 2222)).toEqual([]);
  });

  it('matches entries hashed by ssh-keygen -H', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `hub1.example.com ${keyOf(a.line)}\n[198.51.100.9]:2200 ${keyOf(b.line)}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('example.com');
    expect(text).toContain('|1|');
    expect(pinnedFor(text, 'hub1.example.com', 22)).toEqual([a.fingerprint]);
    expect(pinnedFor(text, '198.51.100.9', 2200)).toEqual([b.fingerprint]);
    expect(pinnedFor(text, '198.51.100.9', 22)).toEqual([]);
  });

  it('flags @revoked lines and skips @cert-authority lines', () => {
    const text = `@revoked * ${keyOf(b.line)}\n@cert-authority *.example.com ${keyOf(a.line)}\nhub ${keyOf(a.line)}`;
    expect(pinnedFor(text, 'hub', 22)).toEqual([`@revoked ${b.fingerprint}`, a.fingerprint]);
    expect(pinnedFor(text, 'x.example.com', 22)).toEqual([`@revoked ${b.fingerprint}`]);
  });
});

describe('parsePublicKey', () => {
  it('reads a bare key line and an ssh-keyscan line; rejects junk', () => {
    expect(parsePublicKey(a.line)?.keyType).toBe('ssh-ed25519');
    const scanned = parsePublicKey(`[hub]:2222 ${keyOf(b.line)}`);
    expect(scanned && fingerprint(scanned.key)).toBe(b.fingerprint);
    expect(parsePublicKey('ssh-ed25519 nope')).toBeUndefined();
    expect(parsePublicKey('')).toBeUndefined();
  });
});

describe('formatKnownHostsLine', () => {
  it('round-trips through parseKnownHosts and ssh-keygen -F', () => {
    const pub = parsePublicKey(a.line);
    if (pub === undefined) throw new Error('no key');
    const line = formatKnownHostsLine('198.51.100.2', 2222, pub);
    expect(pinnedFor(line, '198.51.100.2', 2222)).toEqual([a.fingerprint]);
    const file = join(dir, 'formatted');
    writeFileSync(file, `${line}\n`);
    const found = execFileSync('ssh-keygen', ['-F', '[198.51.100.2]:2222', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(keyOf(a.line));
  });
});
