/**
 * Every hub program Tunnelgate runs, in one explicit list. The bootstrap installs exactly these
 * on a least-privilege hub and the audit compares a hub's installed files with them, so a program
 * missing here is refused by sudo there (a unit test finds programs defined but not listed).
 */
import { TunnelgateError } from '../../core/errors.js';
import { MODES } from '../facts/file-modes.js';
import { RULESET } from '../facts/firewall.js';
import { LISTENERS } from '../facts/listeners.js';
import { CONNTRACK, PMTU } from '../facts/probes.js';
import { ADOPT } from './adopt.js';
import { SET_EXPIRES } from './expiry.js';
import { CHMOD_PRIVATE, FORWARDING, MASQUERADE } from './fixes.js';
import { CHECK, DUMP, PERSIST, READ_CONF, UNPERSIST, WG_REMOVE, WG_SET, WG_STAGE } from './peers.js';
import type { HubProgram } from './registry.js';
import { COMMIT, WATCH } from './rotation.js';

const CATALOG: readonly HubProgram[] = [
  // Peers: live changes, the config file, and the reads that verify them.
  WG_SET,
  WG_STAGE,
  WG_REMOVE,
  PERSIST,
  UNPERSIST,
  CHECK,
  DUMP,
  READ_CONF,
  SET_EXPIRES,
  ADOPT,
  // Key rotation.
  WATCH,
  COMMIT,
  // Diagnose and audit reads that need root.
  MODES,
  RULESET,
  LISTENERS,
  PMTU,
  CONNTRACK,
  // Approved fixes.
  MASQUERADE,
  FORWARDING,
  CHMOD_PRIVATE,
];

const byName = new Map<string, HubProgram>();
for (const program of CATALOG) {
  if (byName.has(program.name)) {
    throw new TunnelgateError('INTERNAL', `hub program "${program.name}" is listed twice`);
  }
  byName.set(program.name, program);
}

/** Every hub program, sorted by name. */
export function hubPrograms(): HubProgram[] {
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}
