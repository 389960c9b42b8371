import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HELD_EXIT, parseHeld } from '../../../../src/hub/programs/holders.js';
import { APPEND_PEER_SH, WG_SET_SH } from '../../../../src/hub/programs/peers.js';
import { COMMIT_ROTATION_SH } from '../../../../src/hub/programs/rotation.js';
import { generateKeyPair } from '../../../../src/wg/keys.js';

const mine = generateKeyPair().publicKey;
const other = generateKeyPair().publicKey;
const gateway = generateKeyPair().publicKey;
const base = '[Interface]\nAddress = 10.6.0.1/24, fd00:6::1/64\nListenPort = 51820\n';

let dir = '';
afterEach(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/**
 * Runs `program` with a recorder `wg` first on PATH: `wg show … allowed-ips` prints `live` (the
 * live interface), any other call is appended to wg.log. Returns the exit code, stdout and the
 * recorded `wg` calls.
 */
function run(program: string, conf: string, live: string, args: (path: string) => string[], input = '') {
  dir = mkdtempSync(join(tmpdir(), 'tg-holders-'));
  const path = join(dir, 'wg0.conf');
  writeFileSync(path, conf);
  writeFileSync(join(dir, 'live'), live);
  writeFileSync(
    join(dir, 'wg'),
    `#!/bin/sh\nif [ "$1" = show ]; then cat '${dir}/live'; exit 0; fi\necho "$*" >> '${dir}/wg.log'\n`,
    { mode: 0o755 },
  );
  const out = spawnSync('sh', ['-c', program, 'tunnelgate-x', ...args(path)], {
    input,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` },
  });
  const log = join(dir, 'wg.log');
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return {
    status: out.status,
    stdout: out.stdout,
    stderr: out.stderr,
    calls,
    file: readFileSync(path, 'utf8'),
  };
}

const wgSet = (ips: string, conf: string, live: string) =>
  run(WG_SET_SH, conf, live, (path) => ['wg0', mine, ips, path]);

describe('the holder check of programs that give AllowedIPs', () => {
  it('gives a free address', () => {
    const result = wgSet('10.6.0.4/32', base, `${other}\t10.6.0.2/32\n`);
    expect(result.status).toBe(0);
    expect(result.calls).toEqual([`set wg0 peer ${mine} allowed-ips 10.6.0.4/32`]);
  });

  it('refuses an address another peer holds on the live interface only, naming it, and changes nothing', () => {
    const result = wgSet('10.6.0.2/32', base, `${other}\t10.6.0.2/32\n${gateway}\t(none)\n`);
    expect(result.status).toBe(HELD_EXIT);
    expect(result.calls).toEqual([]);
    expect(parseHeld(result.stdout)).toEqual([
      { cidr: '10.6.0.2/32', holder: other, where: 'live', wanted: '10.6.0.2/32' },
    ]);
    expect(result.stderr).toContain(`held by peer ${other} (live)`);
  });

  it('refuses an address held only in the config file, under any spelling of the keys', () => {
    const conf = `${base}\n[Peer]\n  publickey=${gateway}\nallowedips = 10.6.0.9/32,192.168.50.0/24 # office\n`;
    const result = wgSet('192.168.50.7/32', conf, '');
    expect(result.status).toBe(HELD_EXIT);
    expect(parseHeld(result.stdout)).toEqual([
      { cidr: '192.168.50.0/24', holder: gateway, where: 'file', wanted: '192.168.50.7/32' },
    ]);
    expect(result.calls).toEqual([]);
  });

  it('refuses a block that contains the address, and an address inside a requested block', () => {
    expect(wgSet('10.6.0.20/32', base, `${other}\t10.6.0.16/28\n`).status).toBe(HELD_EXIT);
    expect(wgSet('10.6.0.0/24', base, `${other}\t10.6.0.200/32\n`).status).toBe(HELD_EXIT);
    expect(wgSet('10.6.0.32/28', base, `${other}\t10.6.0.16/28\n`).status).toBe(0);
  });

  it('compares IPv6 addresses by value, however they are written', () => {
    const live = `${other}\t10.6.0.2/32 fd00:6:0:0::7/128\n`;
    const held = wgSet('10.6.0.3/32,fd00:6::7/128', base, live);
    expect(held.status).toBe(HELD_EXIT);
    expect(parseHeld(held.stdout).map((h) => h.cidr)).toEqual(['fd00:6:0:0::7/128']);
    expect(wgSet('10.6.0.3/32,fd00:6::8/128', base, live).status).toBe(0);
    expect(wgSet('fd00:6::/120', base, live).status).toBe(HELD_EXIT);
    expect(wgSet('fd00:7::7/128', base, live).status).toBe(0);
  });

  it('does not count the peer itself (a retried job), live or in the file', () => {
    const conf = `${base}\n[Peer]\nPublicKey = ${mine}\nAllowedIPs = 10.6.0.2/32\n`;
    expect(wgSet('10.6.0.2/32', conf, `${mine}\t10.6.0.2/32\n`).status).toBe(0);
  });

  it('refuses a rotation commit onto an address a third peer took, leaving file and interface alone', () => {
    const conf = `${base}\n[Peer]\nPublicKey = ${mine}\nAllowedIPs = 10.6.0.2/32\n`;
    const result = run(
      COMMIT_ROTATION_SH,
      conf,
      `${gateway}\t10.6.0.2/32\n${mine}\t(none)\n`,
      (path) => ['wg0', path, mine, other, '10.6.0.2/32'],
      `\n[Peer]\nPublicKey = ${other}\nAllowedIPs = 10.6.0.2/32\n`,
    );
    expect(result.status).toBe(HELD_EXIT);
    expect(parseHeld(result.stdout)[0]?.holder).toBe(gateway);
    expect(result.calls).toEqual([]);
    expect(result.file).toBe(conf);
  });

  it('refuses to write a section into the file whose AllowedIPs another peer holds, live or in the file', () => {
    const section = `\n[Peer]\nPublicKey = ${mine}\nAllowedIPs = 10.6.0.3/32, 10.6.0.2/32\n`;
    const live = run(APPEND_PEER_SH, base, `${other}\t10.6.0.2/32\n`, (path) => ['wg0', path, mine], section);
    expect(live.status).toBe(HELD_EXIT);
    expect(live.file).toBe(base);
    const inFile = `${base}\n[Peer]\nPublicKey = ${gateway}\nAllowedIPs = 10.6.0.0/30\n`;
    const file = run(APPEND_PEER_SH, inFile, '', (path) => ['wg0', path, mine], section);
    expect(file.status).toBe(HELD_EXIT);
    expect(file.file).toBe(inFile);
    const free = run(APPEND_PEER_SH, base, `${other}\t10.6.0.9/32\n`, (path) => ['wg0', path, mine], section);
    expect(free.stdout.trim()).toBe('appended');
    expect(free.file).toBe(base + section);
  });

  it('refuses a rotation commit whose section names other AllowedIPs than the addresses moved', () => {
    const conf = `${base}\n[Peer]\nPublicKey = ${mine}\nAllowedIPs = 10.6.0.2/32\n`;
    const smuggled = `\n[Peer]\nPublicKey = ${other}\nAllowedIPs = 10.6.0.2/32, 10.6.0.9/32\n`;
    const result = run(
      COMMIT_ROTATION_SH,
      conf,
      `${mine}\t10.6.0.2/32\n`,
      (path) => ['wg0', path, mine, other, '10.6.0.2/32'],
      smuggled,
    );
    expect(result.status).toBe(64);
    expect(result.stderr).toContain('AllowedIPs are not 10.6.0.2/32');
    expect(result.calls).toEqual([]);
    expect(result.file).toBe(conf);
  });
});
