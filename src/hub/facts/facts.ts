/**
 * Everything a diagnosis or audit reads from one hub, gathered in ONE remote script (every step
 * `allowFail`, so one failing read does not hide the others) and parsed into {@link HubFacts}.
 */
import type { HubConfig } from '../../config/schema.js';
import type { ConfPeer, InterfaceSettings } from '../../wg/conf.js';
import type { WgDump } from '../../wg/dump.js';
import type { ScriptResults, Step } from '../ssh/remote-script.js';
import { type FileMode, fileModesStep, parseFileModes } from './file-modes.js';
import { firewallSteps, parseRuleset, type Ruleset } from './firewall.js';
import { parseProgramDigests, programDigestsStep } from './hub-programs.js';
import { type Link, linksStep, parseLinks } from './links.js';
import { type Listener, listenersStep, parseListeners } from './listeners.js';
import {
  conntrackStep,
  type Flow,
  type PingResult,
  type PmtuResult,
  parseFlows,
  parsePing,
  parsePmtu,
  pingStep,
  pmtuStep,
} from './probes.js';
import { parseRoutes, type Route, routesStep } from './routes.js';
import { parseSysctls, type Sysctls, sysctlStep } from './sysctl.js';
import { parseClock, parseConfigFile, parseLiveState, wireguardSteps } from './wireguard.js';

/** A peer the reads should probe: its key and tunnel address (no prefix). */
export interface ProbeTarget {
  publicKey: string;
  address: string;
}

/** What to probe besides the passive reads. */
export interface ReadPlan {
  /** Peers to ping (at most a few: each costs up to 1 s when it does not answer). */
  ping: readonly ProbeTarget[];
  /** The don't-fragment probe toward this peer's endpoint (null: any peer with an endpoint). */
  pmtuPeer: string | null;
  /** Skip the active probes (audit). */
  passiveOnly?: boolean;
  /**
   * The digests of the installed program files this Tunnelgate expects, by program name (audit of
   * a least-privilege hub); the installed ones are then read too.
   */
  programs?: ReadonlyMap<string, string>;
}

/** The WireGuard port the hub should listen on: ListenPort from the endpoint. */
export function listenPort(hub: HubConfig): number {
  return Number(hub.endpoint.slice(hub.endpoint.lastIndexOf(':') + 1));
}

/** Every read step, in one script. */
export function readSteps(hub: HubConfig, plan: ReadPlan): Step[] {
  const steps: Step[] = [
    ...wireguardSteps(hub),
    listenersStep(),
    ...firewallSteps(),
    routesStep(),
    linksStep(),
    sysctlStep(),
    fileModesStep(hub.configPath),
    conntrackStep(listenPort(hub)),
  ];
  if (plan.programs !== undefined) steps.push(programDigestsStep([...plan.programs.keys()]));
  if (plan.passiveOnly) return steps;
  plan.ping.forEach((t, i) => {
    steps.push(pingStep(i, t.address));
  });
  steps.push(pmtuStep(hub.interface, plan.pmtuPeer));
  return steps;
}

/** Parsed reads. A null field could not be read (the step failed or printed nothing usable). */
export interface HubFacts {
  hub: HubConfig;
  port: number;
  nowSec: number;
  dump: WgDump | null;
  /** stderr of the dump step when it failed, for evidence (e.g. "Unable to access interface"). */
  dumpError: string | null;
  conf: { settings: InterfaceSettings; peers: ConfPeer[]; lines: string[] } | null;
  listeners: Listener[];
  ruleset: Ruleset | null;
  routes: Route[];
  links: Link[];
  sysctls: Sysctls;
  files: FileMode[];
  flows: Flow[];
  pings: Map<string, PingResult>;
  pmtu: PmtuResult | null;
  /** Expected and installed program digests; null when not asked for or not readable. */
  programs: { expected: ReadonlyMap<string, string>; installed: ReadonlyMap<string, string> } | null;
}

/** Parses the outputs of {@link readSteps}; `fallbackNowSec` is used when the hub clock is unreadable. */
export function parseFacts(
  hub: HubConfig,
  plan: ReadPlan,
  results: ScriptResults,
  fallbackNowSec: number,
): HubFacts {
  const out = (name: string) => results[name]?.stdout ?? '';
  const dumpStep = results.dump;
  const pings = new Map<string, PingResult>();
  if (!plan.passiveOnly) {
    plan.ping.forEach((t, i) => {
      const r = results[`ping-${i}`];
      if (r !== undefined) pings.set(t.publicKey, parsePing(`${r.stdout}\n${r.stderr}`));
    });
  }
  const dump = parseLiveState(dumpStep?.stdout ?? '', dumpStep?.exitCode ?? 1);
  return {
    hub,
    port: listenPort(hub),
    nowSec: parseClock(out('clock')) ?? fallbackNowSec,
    dump,
    dumpError: dump === null ? (dumpStep?.stderr.trim().split('\n')[0] ?? 'not read') : null,
    conf: parseConfigFile(out('conf'), results.conf?.exitCode ?? 1),
    listeners: parseListeners(out('ss')),
    ruleset: results['nft-json']?.exitCode === 0 ? parseRuleset(out('nft-json'), out('nft-text')) : null,
    routes: parseRoutes(out('routes')),
    links: parseLinks(out('links')),
    sysctls: parseSysctls(out('sysctl')),
    files: parseFileModes(out('modes')),
    flows: parseFlows(out('conntrack')),
    pings,
    pmtu: plan.passiveOnly ? null : parsePmtu(out('pmtu')),
    programs: programFacts(plan.programs, parseProgramDigests(results.programs)),
  };
}

function programFacts(
  expected: ReadonlyMap<string, string> | undefined,
  installed: ReadonlyMap<string, string> | null,
): HubFacts['programs'] {
  return expected === undefined || installed === null ? null : { expected, installed };
}
