/**
 * THE LAB: real WireGuard hubs and clients on this machine, for integration tests and the demo.
 * Each lab gets a bridge in the root namespace carrying the operator address, and one namespaced
 * host per hub and client on it. Addresses come from documentation ranges only: lab `slot` s
 * (0-15) owns the /27 at 198.51.100.0/24 (slots 0-7) or 203.0.113.0/24 (slots 8-15); in it the
 * operator is base+1, hubs base+2…, clients base+16…. Nothing routes beyond that /27, and the
 * root namespace gets no route but the bridge's connected one. Several labs run at once (one
 * per test file); slots are reserved atomically and reclaimed from dead owners.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelgateError, tail } from '../core/errors.js';
import { type LabBareHost, startBareHost } from './bare-host.js';
import {
  bridgeName,
  currentProcess,
  hostNames,
  isAlive,
  LAB_ROOT,
  LABS_DIR,
  type LabRecord,
  labDir,
  labIdInUse,
  readSlotOwner,
  reclaimLab,
  releaseSlot,
  SLOTS_DIR,
  type SlotOwner,
  teardownLab,
  waitForExit,
  writeLabRecord,
} from './cleanup.js';
import { LabClient } from './client.js';
import { createHost, type HostSpec, runChecked } from './host.js';
import { type LabHub, startHub } from './hub.js';
import { generateSshKey } from './sshd.js';

/** How many hubs and clients to start. */
export interface LabOptions {
  /** 0-14 hubs. */
  hubs: number;
  /** 0-15 clients. */
  clients: number;
  /** Bare hosts (sshd only, for `tunnelgate hub bootstrap`); hubs + bare is at most 14. Default 0. */
  bare?: number;
}

/** A running lab. `stop()` removes every trace of it. */
export interface Lab {
  /** 4 hex digits; every resource name of the lab embeds it. */
  readonly id: string;
  readonly slot: number;
  /** The root namespace's address on the lab link: the only source sshd on the hubs admits. */
  readonly operatorAddress: string;
  readonly hubs: readonly LabHub[];
  readonly clients: readonly LabClient[];
  /** Bare hosts, named and numbered after the hubs (`hub<hubs+1>`…). */
  readonly bare: readonly LabBareHost[];
  /** The operator's ed25519 private key (mode 600); the hubs admit it as root. */
  readonly operatorKeyPath: string;
  /** known_hosts with every hub's host key (`<ip> ssh-ed25519 AAAA…`). */
  readonly knownHostsPath: string;
  /** The lab's directory under /tmp/tunnelgate-lab/labs. */
  readonly dir: string;
  /** Kills, deletes and releases everything; idempotent. Throws INTERNAL if something remains. */
  stop(): Promise<void>;
}

const SLOT_COUNT = 16;
const PREFIX_LENGTH = 27;

/** The `n`-th address (0 = network) of slot `slot`'s /27. */
function slotAddress(slot: number, n: number): string {
  const net = slot < 8 ? '198.51.100' : '203.0.113';
  return `${net}.${(slot % 8) * 32 + n}`;
}

/** Labs of this process that are not stopped yet, for the last-resort exit handlers. */
const active = new Map<string, LabRecord>();
let exitHandlersInstalled = false;

/**
 * On exit, SIGINT or SIGTERM, tears down labs nobody stopped. A signal is re-raised afterwards
 * only when no one else handles it, so an application's own graceful shutdown still runs.
 */
function installExitHandlers(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  const teardownAll = () => {
    for (const record of active.values()) teardownLab(record);
    active.clear();
  };
  process.on('exit', teardownAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      teardownAll();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Atomically takes slot `slot` for `labId`: a prepared directory renamed into place. */
function tryReserve(slot: number, labId: string): boolean {
  const staged = mkdtempSync(join(SLOTS_DIR, '.new-'));
  const owner: SlotOwner = { labId, owner: currentProcess() };
  writeFileSync(join(staged, 'owner.json'), JSON.stringify(owner));
  try {
    // Fails when the slot exists: its directory is never empty.
    renameSync(staged, join(SLOTS_DIR, String(slot)));
    return true;
  } catch {
    rmSync(staged, { recursive: true, force: true });
    return false;
  }
}

/** The first free slot, reclaiming slots of dead owners on the way. Throws LAB_UNAVAILABLE. */
function reserveSlot(labId: string): number {
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    if (tryReserve(slot, labId)) return slot;
    const owner = readSlotOwner(slot);
    if (owner === undefined || isAlive(owner.owner)) continue;
    reclaimLab(owner.labId);
    // Its lab directory outlives the teardown only when something could not be removed.
    if (existsSync(labDir(owner.labId))) continue;
    releaseSlot(slot, owner.labId);
    if (tryReserve(slot, labId)) return slot;
  }
  throw new TunnelgateError('LAB_UNAVAILABLE', `lab: all ${SLOT_COUNT} address slots are in use`, {
    hint: 'stop other labs (tests, demo) or wait for them to finish',
  });
}

/** A new lab directory with a fresh id (4 hex digits, unused by any lab on this machine). */
function claimLabId(): string {
  mkdirSync(LABS_DIR, { recursive: true, mode: 0o700 });
  mkdirSync(SLOTS_DIR, { recursive: true, mode: 0o700 });
  // Keys live here: refuse a directory someone else prepared (e.g. a symlink planted in /tmp).
  const root = lstatSync(LAB_ROOT);
  if (!root.isDirectory() || root.uid !== process.getuid?.()) {
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab: ${LAB_ROOT} is not a directory owned by this user`);
  }
  chmodSync(LAB_ROOT, 0o700);
  for (;;) {
    const id = randomBytes(2).toString('hex');
    // An orphan left by a lab whose directory is gone would make this id's names collide.
    if (labIdInUse(id)) continue;
    try {
      mkdirSync(labDir(id), { mode: 0o700 });
      return id;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

function checkOptions(options: LabOptions): void {
  const ok = (n: number, max: number) => Number.isInteger(n) && n >= 0 && n <= max;
  const bare = options.bare ?? 0;
  if (!ok(options.hubs, 14) || !ok(options.clients, 15) || !ok(bare, 14 - options.hubs)) {
    throw new TunnelgateError(
      'INPUT_INVALID',
      'lab: 0-14 hubs and bare hosts together and 0-15 clients per lab',
    );
  }
}

/** Creates the bridge with the operator address; fixed MAC, so the hosts' ARP entries stay valid. */
async function createBridge(name: string, operatorAddress: string, slot: number): Promise<void> {
  const mac = `02:74:67:00:${slot.toString(16).padStart(2, '0')}:01`;
  await runChecked(['ip', 'link', 'add', 'name', name, 'address', mac, 'type', 'bridge']);
  // No IPv6 on the root side of the lab link: the hosts reach the root namespace by IPv4 only.
  writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
  await runChecked(['ip', '-batch', '-'], {
    input: `addr add ${operatorAddress}/${PREFIX_LENGTH} dev ${name}\nlink set ${name} up\n`,
  });
}

/**
 * Like Promise.all, but settles every promise before throwing the first failure, so nothing is
 * still being created while the caller tears the lab down.
 */
async function allSettled<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}

/** Everything after the slot is reserved: bridge, operator key, hosts, hubs, known_hosts. */
async function build(record: LabRecord, slot: number, options: LabOptions): Promise<Lab> {
  const dir = labDir(record.id);
  const operatorAddress = slotAddress(slot, 1);
  const operatorKeyPath = join(dir, 'operator_ed25519');
  const knownHostsPath = join(dir, 'known_hosts');
  const bareCount = options.bare ?? 0;
  const servers = options.hubs + bareCount;
  const specs: HostSpec[] = record.hosts.map((host, i) => ({
    ...host,
    bridge: record.bridge,
    address: slotAddress(slot, i < servers ? 2 + i : 16 + i - servers),
    prefixLength: PREFIX_LENGTH,
    dir: join(dir, host.name),
  }));
  const operatorKey = generateSshKey(operatorKeyPath, 'tunnelgate-lab-operator');
  await allSettled<unknown>([operatorKey, createBridge(record.bridge, operatorAddress, slot)]);
  const hubSpec = { operatorAddress, operatorPublicKey: await operatorKey, operatorKeyPath, knownHostsPath };
  const starting = {
    hubs: allSettled(
      specs
        .slice(0, options.hubs)
        .map(async (spec, i) => startHub(await createHost(spec), { ...hubSpec, index: i + 1 })),
    ),
    bare: allSettled(
      specs
        .slice(options.hubs, servers)
        .map(async (spec, i) =>
          startBareHost(await createHost(spec), { ...hubSpec, index: options.hubs + i + 1 }),
        ),
    ),
    clients: allSettled(specs.slice(servers).map(async (spec) => new LabClient(await createHost(spec)))),
  };
  await allSettled<unknown>([starting.hubs, starting.bare, starting.clients]);
  const hubs = await starting.hubs;
  const bare = await starting.bare;
  const clients = await starting.clients;
  await writeFile(
    knownHostsPath,
    [...hubs, ...bare].map((hub) => `${hub.labAddress} ${hub.hostPublicKey}\n`).join(''),
    { mode: 0o600 },
  );

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    const { killed, leftovers } = teardownLab(record);
    active.delete(record.id);
    await waitForExit(killed);
    if (leftovers.length > 0) {
      throw new TunnelgateError('INTERNAL', `lab ${record.id}: could not remove ${leftovers.join(', ')}`);
    }
  };
  return {
    id: record.id,
    slot,
    operatorAddress,
    hubs,
    clients,
    bare,
    operatorKeyPath,
    knownHostsPath,
    dir,
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}

/**
 * Starts a lab: bridge and operator key, then every host in parallel, hubs with sshd, wg0 and
 * nftables. Names of everything are recorded before anything is created. Throws INPUT_INVALID
 * for bad counts and LAB_UNAVAILABLE (underlying error as `cause`, its stderr in the message)
 * when anything fails, after removing what was already made.
 */
export async function startLab(options: LabOptions): Promise<Lab> {
  checkOptions(options);
  let record: LabRecord | undefined;
  try {
    const id = claimLabId();
    record = {
      id,
      owner: currentProcess(),
      slot: null,
      bridge: bridgeName(id),
      hosts: [
        ...Array.from({ length: options.hubs + (options.bare ?? 0) }, (_, i) => hostNames(id, 'hub', i + 1)),
        ...Array.from({ length: options.clients }, (_, i) => hostNames(id, 'client', i + 1)),
      ],
    };
    writeLabRecord(record);
    active.set(id, record);
    installExitHandlers();
    record.slot = reserveSlot(id);
    writeLabRecord(record);
    return await build(record, record.slot, options);
  } catch (err) {
    if (record !== undefined) {
      const { killed } = teardownLab(record);
      active.delete(record.id);
      await waitForExit(killed);
    }
    if (err instanceof TunnelgateError && err.code === 'INPUT_INVALID') throw err;
    const reason = err instanceof Error ? err.message : String(err);
    const stderr = err instanceof TunnelgateError ? err.stderrTail : undefined;
    throw new TunnelgateError(
      'LAB_UNAVAILABLE',
      `the lab could not start: ${reason}${stderr === undefined ? '' : `\n${tail(stderr, 5)}`}`,
      { cause: err, ...(stderr === undefined ? {} : { stderrTail: stderr }) },
    );
  }
}
