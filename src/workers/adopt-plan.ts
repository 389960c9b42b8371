/**
 * What adopting peers would do, decided from one survey of the hub before anything changes: each
 * key prefix must name exactly one foreign peer, the peer must hold one tunnel address in the hub
 * subnet and overlap no other peer, and every new peer name must be free. All problems are
 * collected, so a bad owners file is reported at once and nothing is adopted.
 */
import type { HubConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { PeerName } from '../core/ids.js';
import type { AdoptEntry } from '../domain/models/command.js';
import type { AdoptedPeer } from '../domain/models/reply.js';
import { cidrRange, parseCidr, tryParseCidr } from '../wg/cidr.js';
import { findOverlaps } from '../wg/ipam.js';
import { type HubSurvey, holderName, placeOf, type SurveyPeer, shortKey } from '../wg/survey.js';

/** One planned adoption. */
export interface AdoptPlan extends AdoptedPeer {
  entry: AdoptEntry;
  device: string;
  address6?: string;
  /** AllowedIPs besides the tunnel address(es). */
  routes: string[];
  /** The peer's survey row (it has a section to tag, or is live only). */
  found: SurveyPeer;
}

/** The survey and the names already taken, as the planner needs them. */
export interface AdoptInput {
  hub: HubConfig;
  survey: HubSurvey;
  /** Managed public key -> peer name on this hub. */
  managed: ReadonlyMap<string, string>;
  /** Peer names taken on any hub (the inventory) or by an active request. */
  takenNames: ReadonlySet<string>;
}

function within(cidr: string, subnet: string | undefined): boolean {
  if (subnet === undefined) return false;
  const block = tryParseCidr(cidr);
  const net = parseCidr(subnet);
  if (block === null || block.family !== net.family) return false;
  const [inner, outer] = [cidrRange(block), cidrRange(net)];
  return inner.first >= outer.first && inner.last <= outer.last;
}

/** The entry's peer, or the problem in words. */
function resolve(input: AdoptInput, entry: AdoptEntry): SurveyPeer | string {
  const matches = input.survey.peers.filter((p) => p.publicKey.startsWith(entry.keyPrefix));
  const foreign = matches.filter((p) => !p.managed);
  const [only, second] = foreign;
  if (only !== undefined && second === undefined) return only;
  if (second !== undefined) {
    return `key prefix ${entry.keyPrefix} matches ${foreign.length} foreign peers (${foreign.map((p) => shortKey(p.publicKey)).join(', ')}): give more of the key`;
  }
  const managed = matches[0];
  if (managed !== undefined) {
    return `key prefix ${entry.keyPrefix} names ${holderName(managed, input.managed)}, which Tunnelgate already manages`;
  }
  return `key prefix ${entry.keyPrefix} matches no peer on hub ${input.hub.name}`;
}

/** Plans one entry, or says why it cannot be adopted. */
function planOne(input: AdoptInput, entry: AdoptEntry, peer: SurveyPeer): AdoptPlan | string {
  const { hub } = input;
  const v4 = peer.allowedIps.filter((ip) => ip.endsWith('/32') && within(ip, hub.subnet));
  const v6 = peer.allowedIps.filter((ip) => ip.endsWith('/128') && within(ip, hub.subnet6));
  const [address, extra] = v4;
  if (address === undefined || extra !== undefined) {
    return `peer ${shortKey(peer.publicKey)} holds ${v4.length === 0 ? 'no' : 'more than one'} /32 address in ${hub.subnet} (AllowedIPs ${peer.allowedIps.join(', ') || 'none'}): Tunnelgate manages peers with exactly one tunnel address`;
  }
  const address6 = v6[0];
  const others = input.survey.peers.filter((p) => p.publicKey !== peer.publicKey);
  const clash = findOverlaps([
    { id: peer.publicKey, allowedIps: [...new Set([...peer.allowedIps, ...(peer.fileAllowedIps ?? [])])] },
    ...others.map((p) => ({ id: p.publicKey, allowedIps: [...p.allowedIps, ...(p.fileAllowedIps ?? [])] })),
  ]).find((o) => o.a === peer.publicKey || o.b === peer.publicKey);
  if (clash !== undefined) {
    const [mine, theirs, holder] =
      clash.a === peer.publicKey ? [clash.cidrA, clash.cidrB, clash.b] : [clash.cidrB, clash.cidrA, clash.a];
    const other = others.find((p) => p.publicKey === holder);
    return `peer ${shortKey(peer.publicKey)}'s ${mine} overlaps ${theirs} held by ${other === undefined ? holder : holderName(other, input.managed)}: resolve the overlap first`;
  }
  const name = PeerName.safeParse(`${entry.owner}-${entry.device}`.toLowerCase());
  if (!name.success) return `${entry.owner}-${entry.device} is not a valid peer name`;
  if (input.takenNames.has(name.data)) {
    return `the peer name ${name.data} is already taken: pick another device name for ${shortKey(peer.publicKey)}`;
  }
  return {
    entry,
    peer: name.data,
    owner: entry.owner,
    device: entry.device,
    publicKey: peer.publicKey,
    address,
    ...(address6 === undefined ? {} : { address6 }),
    routes: peer.allowedIps.filter((ip) => ip !== address && ip !== address6),
    allowedIps: peer.allowedIps,
    where: placeOf(peer),
    found: peer,
  };
}

/**
 * Plans every entry. Throws INPUT_INVALID listing every problem (unknown or ambiguous prefixes,
 * managed peers, the same peer or name twice, no tunnel address, an overlap) when any entry fails.
 */
export function planAdoption(input: AdoptInput, entries: readonly AdoptEntry[]): AdoptPlan[] {
  const problems: string[] = [];
  const plans: AdoptPlan[] = [];
  for (const entry of entries) {
    const peer = resolve(input, entry);
    const plan = typeof peer === 'string' ? peer : planOne(input, entry, peer);
    if (typeof plan === 'string') {
      problems.push(plan);
      continue;
    }
    const twin = plans.find((p) => p.publicKey === plan.publicKey || p.peer === plan.peer);
    if (twin !== undefined) {
      problems.push(
        twin.publicKey === plan.publicKey
          ? `key prefixes ${twin.entry.keyPrefix} and ${entry.keyPrefix} name the same peer ${shortKey(plan.publicKey)}`
          : `the peer name ${plan.peer} is given twice (${twin.entry.keyPrefix} and ${entry.keyPrefix})`,
      );
      continue;
    }
    plans.push(plan);
  }
  if (problems.length > 0) {
    throw new TunnelgateError(
      'INPUT_INVALID',
      `nothing was adopted on hub ${input.hub.name}: ${problems.join('; ')}`,
      { hint: 'run /vpn reconcile to see the foreign peers and their keys' },
    );
  }
  return plans;
}
