/**
 * Every peer a hub holds, from its live interface and its config file together: which ones
 * Tunnelgate manages and which are foreign (made by hand or by another tool), where each was
 * seen, and every pair of peers whose AllowedIPs overlap. Reconcile reports from it and adoption
 * resolves key prefixes against it; the hub is the authority, so nothing here comes from Redis
 * except the set of keys the inventory manages.
 */
import type { ConfPeer } from './conf.js';
import type { DumpPeer } from './dump.js';
import { findOverlaps } from './ipam.js';

/** One peer of the hub, live and/or in the file. */
export interface SurveyPeer {
  publicKey: string;
  /** The live AllowedIPs when live, else the file's. */
  allowedIps: string[];
  /** The file's AllowedIPs; null when the peer has no section. */
  fileAllowedIps: string[] | null;
  endpoint: string | null;
  /** Unix seconds of the latest handshake; null when never or not live. */
  latestHandshake: number | null;
  live: boolean;
  inFile: boolean;
  /** The peer's `# tunnelgate:` name; undefined for a section without one. */
  metaPeer: string | undefined;
  /** True when the file carries our metadata comment or the inventory knows the key. */
  managed: boolean;
}

/** Two peers holding overlapping AllowedIPs, each named by {@link holderName}. */
export interface HolderOverlap {
  a: string;
  cidrA: string;
  b: string;
  cidrB: string;
}

/** A survey of one hub. */
export interface HubSurvey {
  peers: SurveyPeer[];
  overlaps: HolderOverlap[];
}

/** The first 8 characters of a key and an ellipsis, as reports show foreign peers. */
export function shortKey(publicKey: string): string {
  return `${publicKey.slice(0, 8)}…`;
}

/**
 * Surveys a hub. `managed` maps the public keys the inventory knows to their peer names, so an
 * overlap names a managed holder by name and a foreign one by its short key.
 */
export function surveyHub(
  live: readonly DumpPeer[],
  file: readonly ConfPeer[],
  managed: ReadonlyMap<string, string>,
): HubSurvey {
  const inFile = new Map(file.map((p) => [p.publicKey as string, p]));
  const keys = [...new Set([...live.map((p) => p.publicKey as string), ...inFile.keys()])];
  const liveByKey = new Map(live.map((p) => [p.publicKey as string, p]));
  const peers = keys.map((publicKey): SurveyPeer => {
    const now = liveByKey.get(publicKey);
    const section = inFile.get(publicKey);
    const fileAllowedIps = section === undefined ? null : [...section.allowedIps];
    return {
      publicKey,
      allowedIps: now === undefined ? (fileAllowedIps ?? []) : [...now.allowedIps],
      fileAllowedIps,
      endpoint: now?.endpoint ?? section?.endpoint ?? null,
      latestHandshake: now?.latestHandshake ?? null,
      live: now !== undefined,
      inFile: section !== undefined,
      metaPeer: section?.meta?.peer,
      managed: (section?.meta !== null && section?.meta !== undefined) || managed.has(publicKey),
    };
  });
  const names = new Map(peers.map((p) => [p.publicKey, holderName(p, managed)]));
  // A peer whose live and file AllowedIPs differ holds both: check each against the others.
  const routes = peers.map((p) => ({
    id: p.publicKey,
    allowedIps: [...new Set([...p.allowedIps, ...(p.fileAllowedIps ?? [])])],
  }));
  const overlaps = findOverlaps(routes).map((o) => ({
    a: names.get(o.a) ?? o.a,
    cidrA: o.cidrA,
    b: names.get(o.b) ?? o.b,
    cidrB: o.cidrB,
  }));
  return { peers, overlaps };
}

/** A managed peer's name, or `foreign <short key>`. */
export function holderName(peer: SurveyPeer, managed: ReadonlyMap<string, string>): string {
  const name = managed.get(peer.publicKey) ?? peer.metaPeer;
  return name ?? `foreign ${shortKey(peer.publicKey)}`;
}

/** Where a peer was seen. */
export function placeOf(peer: Pick<SurveyPeer, 'live' | 'inFile'>): 'live' | 'file' | 'both' {
  if (peer.live && peer.inFile) return 'both';
  return peer.live ? 'live' : 'file';
}
