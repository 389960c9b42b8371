/** Loads a state captured by scripts/capture-runbook-fixtures.ts as the outputs of one script run. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HubConfig } from '../../../src/config/schema.js';
import { type HubFacts, parseFacts, type ReadPlan } from '../../../src/hub/facts/facts.js';
import type { ScriptResults } from '../../../src/hub/ssh/remote-script.js';
import type { KnownPeer } from '../../../src/runbooks/playbook.js';

const DIR = join(import.meta.dirname, '../../fixtures/runbooks');

/** The lab hub the fixtures were captured on, as a config entry. */
export const HUB = HubConfig.parse({
  name: 'hub1',
  host: '198.51.100.2',
  user: 'root',
  privateKeyPath: '/dev/null',
  knownHosts: '/dev/null',
  endpoint: '198.51.100.2:51820',
  subnet: '10.66.1.0/24',
  dns: ['10.66.1.1'],
});

/** One captured step's stdout. */
export function fixture(state: string, step: string): string {
  return readFileSync(join(DIR, state, `${step}.out`), 'utf8');
}

/** Every captured step of a state, as runScript would have returned it. */
export function results(state: string): ScriptResults {
  const dir = join(DIR, state);
  const out: Record<string, { stdout: string; stderr: string; exitCode: number }> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.out'))) {
    const name = file.slice(0, -4);
    const code = join(dir, `${name}.code`);
    out[name] = {
      stdout: readFileSync(join(dir, file), 'utf8'),
      stderr: readFileSync(join(dir, `${name}.err`), 'utf8'),
      exitCode: existsSync(code) ? Number(readFileSync(code, 'utf8')) : 0,
    };
  }
  return out;
}

/** The probed peer of a state: the peer the ping step targeted (first peer line of the dump). */
export function probedPeer(state: string, mode: KnownPeer['mode'] = 'split'): KnownPeer {
  const dump = fixture(state === 'wg-down' ? 'healthy' : state, 'dump').split('\n');
  const ping = fixture(state, 'ping-0');
  const address = /PING (\S+)/.exec(ping)?.[1] ?? '10.66.1.2';
  const line = dump.slice(1).find((l) => l.includes(`${address}/32`)) ?? dump[1] ?? '';
  return { peer: 'lab-peer', publicKey: line.split('\t')[0] ?? '', address: `${address}/32`, mode };
}

/** Parsed facts of a state, with the hub clock as captured. */
export function facts(state: string, peer = probedPeer(state)): HubFacts {
  const plan: ReadPlan = {
    ping: [{ publicKey: peer.publicKey, address: peer.address.split('/')[0] ?? '' }],
    pmtuPeer: peer.publicKey,
  };
  return parseFacts(HUB, plan, results(state), 0);
}
