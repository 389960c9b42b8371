/**
 * Tunnel address management: the next free address in a hub subnet, and overlapping AllowedIPs
 * between peers. A hub routes each address to exactly one peer, so a peer whose AllowedIPs
 * overlap another's silently takes that traffic and knocks the other client offline.
 * Both functions sort once and sweep, so they stay fast for tens of thousands of peers.
 */
import { TunnelgateError } from '../core/errors.js';
import {
  addressBits,
  type CidrRange,
  cidrRange,
  formatAddress,
  type IpFamily,
  parseCidr,
  tryParseAddress,
  tryParseCidr,
} from './cidr.js';

/** Input of {@link nextFreeAddress}. */
export interface AddressRequest {
  /** The hub subnet, e.g. `10.6.0.0/24` or `fd00:6::/64`. */
  subnet: string;
  /** The hub's own address, bare or with prefix (`10.6.0.1/24`); never handed out. */
  hubAddress: string;
  /** Addresses or blocks already in use (e.g. every peer's AllowedIPs); other families are ignored. */
  taken: Iterable<string>;
}

/** A peer's routes for {@link findOverlaps}; `id` is its name or public key. */
export interface PeerRoutes {
  id: string;
  allowedIps: readonly string[];
}

/** Two peers claiming the same addresses: `cidrA` of peer `a` overlaps `cidrB` of peer `b`. */
export interface Overlap {
  a: string;
  cidrA: string;
  b: string;
  cidrB: string;
}

interface Claim extends CidrRange {
  family: IpFamily;
}

/** Parses an address (as a one-address block) or a block; throws INPUT_INVALID naming `what`. */
function claim(text: string, what: string): Claim {
  const address = tryParseAddress(text);
  if (address !== null) return { family: address.family, first: address.value, last: address.value };
  const cidr = tryParseCidr(text);
  if (cidr === null) {
    throw new TunnelgateError(
      'INPUT_INVALID',
      `${what} ${JSON.stringify(text)} is not an IP address or CIDR`,
    );
  }
  return { family: cidr.family, ...cidrRange(cidr) };
}

/** The hub's own address, written bare or with its interface prefix (`10.6.0.1/24`). */
function hubClaim(text: string): Claim {
  const slash = text.indexOf('/');
  const address = tryParseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null || (slash >= 0 && tryParseCidr(text) === null)) {
    throw new TunnelgateError('INPUT_INVALID', `hub address ${JSON.stringify(text)} is not an IP address`);
  }
  return { family: address.family, first: address.value, last: address.value };
}

function byStart(a: Claim, b: Claim): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  if (a.last !== b.last) return a.last > b.last ? -1 : 1;
  return 0;
}

/**
 * The lowest free host address of `subnet` as `/32` (IPv4) or `/128` (IPv6), skipping the network
 * address, the IPv4 broadcast address (except in /31 and /32, and /127 and /128), the hub's
 * address and everything in `taken`. Throws INPUT_INVALID on malformed input and
 * SUBNET_EXHAUSTED naming the subnet when nothing is left.
 */
export function nextFreeAddress(request: AddressRequest): string {
  const block = parseCidr(request.subnet);
  const { family } = block;
  const range = cidrRange(block);
  const roomy = block.prefix <= addressBits(family) - 2;
  const low = roomy ? range.first + 1n : range.first;
  const high = roomy && family === 4 ? range.last - 1n : range.last;
  const hub = hubClaim(request.hubAddress);
  if (hub.family !== family) {
    throw new TunnelgateError(
      'INPUT_INVALID',
      `hub address ${request.hubAddress} is not in the family of ${request.subnet}`,
    );
  }
  const blocked = [hub];
  for (const text of request.taken) {
    const used = claim(text, 'taken address');
    if (used.family === family && used.last >= low && used.first <= high) blocked.push(used);
  }
  blocked.sort(byStart);
  let candidate = low;
  for (const used of blocked) {
    if (used.first > candidate) break;
    if (used.last >= candidate) candidate = used.last + 1n;
  }
  if (candidate > high) {
    throw new TunnelgateError('SUBNET_EXHAUSTED', `subnet ${request.subnet} has no free address left`, {
      hint: 'revoke unused peers, or move the hub to a larger subnet',
    });
  }
  return `${formatAddress({ family, value: candidate })}/${addressBits(family)}`;
}

/**
 * Every pair of blocks, owned by different peers, that share an address (overlaps among one
 * peer's own blocks are harmless and not reported). CIDR blocks either nest or are disjoint, so after sorting by start a
 * stack of open blocks finds all pairs in O(n log n + pairs). Throws INPUT_INVALID on a
 * malformed entry.
 */
export function findOverlaps(peers: Iterable<PeerRoutes>): Overlap[] {
  const claims: (Claim & { id: string; cidr: string })[] = [];
  for (const peer of peers) {
    for (const cidr of peer.allowedIps) {
      claims.push({ ...claim(cidr, `AllowedIPs of ${peer.id}:`), id: peer.id, cidr });
    }
  }
  claims.sort(byStart);
  const overlaps: Overlap[] = [];
  const open: typeof claims = [];
  for (const current of claims) {
    while (open.length > 0) {
      const top = open.at(-1);
      if (top !== undefined && top.family === current.family && top.last >= current.first) break;
      open.pop();
    }
    for (const outer of open) {
      if (outer.id !== current.id) {
        overlaps.push({ a: outer.id, cidrA: outer.cidr, b: current.id, cidrB: current.cidr });
      }
    }
    open.push(current);
  }
  return overlaps;
}
