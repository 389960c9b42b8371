/**
 * The lab's on-disk registry and its teardown. Every lab records its owner process and the names
 * of everything it creates (bridge, namespaces, veths, slot) in `/tmp/tunnelgate-lab/labs/<id>/`
 * *before* creating it, so a lab whose process died (SIGKILL, crash, killed test worker) can be
 * reclaimed later by {@link reclaimStaleLabs}. Teardown is synchronous on purpose: it must also
 * work from a process 'exit' handler, where nothing asynchronous runs.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Root of all lab state on this machine. */
export const LAB_ROOT = '/tmp/tunnelgate-lab';
/** One directory per lab: record, keys, per-host directories. */
export const LABS_DIR = join(LAB_ROOT, 'labs');
/** One directory per reserved address slot (see `lab/lab.ts`). */
export const SLOTS_DIR = join(LAB_ROOT, 'slots');

/** A process identity that survives pid reuse: the pid plus its start time (clock ticks since boot). */
export interface ProcessId {
  pid: number;
  start: string;
}

/** Everything a lab owns, by name. Written before each resource is created. */
export interface LabRecord {
  id: string;
  owner: ProcessId;
  slot: number | null;
  bridge: string;
  hosts: { name: string; netns: string; veth: string }[];
}

/** Owner file of a slot directory. */
export interface SlotOwner {
  labId: string;
  owner: ProcessId;
}

/** Start time of a process, or undefined when it does not exist (or is being reaped). */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; starttime is field 22 of the whole line.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** This process, as recorded in lab and slot owner files. */
export function currentProcess(): ProcessId {
  return { pid: process.pid, start: startTime(process.pid) ?? '' };
}

/** True while the recorded process still runs (a reused pid does not count). */
export function isAlive(p: ProcessId): boolean {
  return startTime(p.pid) === p.start;
}

/** The directory of lab `id`. */
export function labDir(id: string): string {
  return join(LABS_DIR, id);
}

/** Persists a lab's record (atomically, so a reader never sees half a file). */
export function writeLabRecord(record: LabRecord): void {
  const file = join(labDir(record.id), 'lab.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Reads a slot's owner file; undefined when the slot is free or unreadable. */
export function readSlotOwner(slot: number): SlotOwner | undefined {
  return readJson<SlotOwner>(join(SLOTS_DIR, String(slot), 'owner.json'));
}

/** Pids of every process inside network namespace `netns` (what `ip netns pids` prints). */
export function netnsPids(netns: string): number[] {
  let inode: number;
  try {
    inode = statSync(`/run/netns/${netns}`).ino;
  } catch {
    return [];
  }
  const want = `net:[${inode}]`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === want) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or a kernel thread.
    }
  }
  return pids;
}

/** SIGKILLs every process in `netns`, repeating while new ones appear (e.g. sshd forking). */
export function killNetns(netns: string): number[] {
  const killed = new Set<number>();
  for (let round = 0; round < 5; round++) {
    const pids = netnsPids(netns).filter((pid) => pid !== process.pid);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Already gone.
      }
    }
  }
  return [...killed];
}

/** Runs `ip -force -batch -` (each line an `ip` command; errors do not stop the rest). */
function ipBatch(lines: string[]): void {
  if (lines.length === 0) return;
  spawnSync('ip', ['-force', '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
}

/**
 * Removes a slot directory if (and only if) it belongs to `labId`. It is renamed aside first and
 * checked there, so a slot that another process re-took meanwhile is put back, not deleted.
 */
export function releaseSlot(slot: number, labId: string): void {
  if (readSlotOwner(slot)?.labId !== labId) return;
  const path = join(SLOTS_DIR, String(slot));
  const aside = join(SLOTS_DIR, `.release-${labId}-${slot}-${process.pid}`);
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (readJson<SlotOwner>(join(aside, 'owner.json'))?.labId === labId) {
    rmSync(aside, { recursive: true, force: true });
    return;
  }
  try {
    renameSync(aside, path);
  } catch {
    rmSync(aside, { recursive: true, force: true });
  }
}

/** What a teardown did: pids it SIGKILLed (callers may wait for them) and names still present. */
export interface TeardownResult {
  killed: number[];
  leftovers: string[];
}

/**
 * Kills every process in the hosts' namespaces (holders, sshd, wireguard-go, sessions), then
 * deletes their veths, `extraLinks` (the bridge) and namespaces. Idempotent.
 */
export function teardownHosts(
  hosts: readonly { netns: string; veth: string }[],
  extraLinks: readonly string[] = [],
): TeardownResult {
  const killed = hosts.flatMap((host) => killNetns(host.netns));
  const links = [...hosts.map((host) => host.veth), ...extraLinks];
  ipBatch([...links.map((link) => `link del ${link}`), ...hosts.map((host) => `netns del ${host.netns}`)]);
  const leftovers = [
    ...links.filter((link) => existsSync(`/sys/class/net/${link}`)),
    ...hosts.map((host) => host.netns).filter((ns) => existsSync(`/run/netns/${ns}`)),
  ];
  return { killed, leftovers };
}

/**
 * Destroys everything `record` names (see {@link teardownHosts}), then releases its slot and
 * removes the lab directory; both are kept when something could not be removed, so a later
 * reclaim can retry.
 */
export function teardownLab(record: LabRecord): TeardownResult {
  const result = teardownHosts(record.hosts, [record.bridge]);
  // A leftover bridge still holds the slot's addresses: keep slot and record for a later reclaim.
  if (result.leftovers.length > 0) return result;
  if (record.slot !== null) releaseSlot(record.slot, record.id);
  rmSync(labDir(record.id), { recursive: true, force: true });
  return result;
}

/** True while `pid` exists and is not a zombie (a zombie is dead; only its parent can reap it). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Resolves once none of `pids` runs any more, or after `timeoutMs`. Zombies count as gone:
 * wireguard-go daemonizes, so init (not us) reaps it, sometimes a second later.
 */
export async function waitForExit(pids: readonly number[], timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isRunning) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lab resource names embed the 4-hex lab id, so an orphan can always be traced to its lab. */
const LINK_NAME = /^tg([0-9a-f]{4})(?:br|[hc]\d+)$/;
const NETNS_NAME = /^tg-([0-9a-f]{4})-(?:hub|client)\d+$/;

/** The bridge of lab `id`: `tg<id>br` (IFNAMSIZ allows 15 characters). */
export function bridgeName(id: string): string {
  return `tg${id}br`;
}

/** Name, namespace and root-side veth of the `n`-th (1-based) hub or client of lab `id`. */
export function hostNames(id: string, kind: 'hub' | 'client', n: number): LabRecord['hosts'][number] {
  return { name: `${kind}${n}`, netns: `tg-${id}-${kind}${n}`, veth: `tg${id}${kind[0]}${n}` };
}

/** True when a link or namespace named for lab `id` exists (e.g. an orphan of a lost lab). */
export function labIdInUse(id: string): boolean {
  return (
    listDir('/sys/class/net').some((link) => LINK_NAME.exec(link)?.[1] === id) ||
    listDir('/run/netns').some((ns) => NETNS_NAME.exec(ns)?.[1] === id)
  );
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A lab directory younger than this without a record may be one that is just starting. */
const RECORDLESS_GRACE_MS = 60_000;

/** Reads lab `id`'s record; undefined when it has none (yet). */
export function readLabRecord(id: string): LabRecord | undefined {
  return readJson<LabRecord>(join(labDir(id), 'lab.json'));
}

/**
 * Tears lab `id` down if its owner process is dead (see {@link teardownLab}). Returns true when
 * it did; labs of live processes are never touched.
 */
export function reclaimLab(id: string): boolean {
  const record = readLabRecord(id);
  if (record === undefined || isAlive(record.owner)) return false;
  teardownLab(record);
  return true;
}

/**
 * Reclaims labs whose owner process is dead: everything in their records, their slots, and any
 * `tg…` link or namespace whose lab directory is gone. Labs of live processes (other test runs,
 * a running demo) are left alone. Returns the ids of the labs reclaimed.
 */
export function reclaimStaleLabs(): string[] {
  const reclaimed: string[] = [];
  for (const id of listDir(LABS_DIR)) {
    if (readLabRecord(id) !== undefined) {
      if (reclaimLab(id)) reclaimed.push(id);
    } else if (Date.now() - (statSafe(labDir(id))?.mtimeMs ?? 0) > RECORDLESS_GRACE_MS) {
      rmSync(labDir(id), { recursive: true, force: true });
    }
  }
  for (const name of listDir(SLOTS_DIR)) {
    if (!/^\d+$/.test(name)) continue;
    const owner = readSlotOwner(Number(name));
    if (owner !== undefined && !isAlive(owner.owner) && !existsSync(labDir(owner.labId))) {
      releaseSlot(Number(name), owner.labId);
    }
  }
  // A lab directory is made before any resource and removed after the last one, so a resource
  // seen *before* its directory is found missing is an orphan, never part of a lab starting now.
  const orphanNetns = listDir('/run/netns').filter((ns) => isOrphan(NETNS_NAME.exec(ns)?.[1]));
  const orphanLinks = listDir('/sys/class/net').filter((link) => isOrphan(LINK_NAME.exec(link)?.[1]));
  for (const ns of orphanNetns) killNetns(ns);
  ipBatch([...orphanLinks.map((link) => `link del ${link}`), ...orphanNetns.map((ns) => `netns del ${ns}`)]);
  return reclaimed;
}

function isOrphan(labId: string | undefined): boolean {
  return labId !== undefined && !existsSync(labDir(labId));
}

function statSafe(path: string): { mtimeMs: number } | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
