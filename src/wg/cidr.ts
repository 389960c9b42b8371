/**
 * IPv4 and IPv6 addresses and CIDR blocks as bigints, hand-written so address maths (overlap
 * checks, the next free address) has no dependency and no string tricks.
 */
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';

/** The IP version of an address or block. */
export type IpFamily = 4 | 6;

/** An address as a number: 32 bits for IPv4, 128 for IPv6. */
export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

/** A parsed block. `network` has the host bits cleared, so `10.6.0.1/24` gives `10.6.0.0`. */
export interface ParsedCidr {
  family: IpFamily;
  network: bigint;
  prefix: number;
}

/** The first and last address of a block, inclusive. */
export interface CidrRange {
  first: bigint;
  last: bigint;
}

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;
const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/** 32 for IPv4, 128 for IPv6. */
export function addressBits(family: IpFamily): number {
  return family === 4 ? 32 : 128;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_OCTET.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

/** Colon-separated groups; a dotted IPv4 tail counts as two groups where `allowIpv4Tail`. */
function parseIpv6Groups(text: string, allowIpv4Tail: boolean): number[] | null {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (allowIpv4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === null) return null;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else if (IPV6_GROUP.test(part)) {
      groups.push(Number.parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

function parseIpv6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseIpv6Groups(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? parseIpv6Groups(halves[1] ?? '', true) : [];
  if (head === null || tail === null) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  let value = 0n;
  for (const group of [...head, ...new Array<number>(missing).fill(0), ...tail]) {
    value = (value << 16n) | BigInt(group);
  }
  return value;
}

/** Parses an address, or returns null. No zone ids (`%eth0`), no leading zeros in IPv4 octets. */
export function tryParseAddress(text: string): IpAddress | null {
  if (text.includes(':')) {
    const value = parseIpv6(text);
    return value === null ? null : { family: 6, value };
  }
  const value = parseIpv4(text);
  return value === null ? null : { family: 4, value };
}

/** Parses an address such as `10.6.0.2` or `fd00::2`. Throws INPUT_INVALID. */
export function parseAddress(text: string): IpAddress {
  const address = tryParseAddress(text);
  if (address === null) {
    throw new TunnelgateError('INPUT_INVALID', `${JSON.stringify(text)} is not an IP address`);
  }
  return address;
}

function hostMask(family: IpFamily, prefix: number): bigint {
  return (1n << BigInt(addressBits(family) - prefix)) - 1n;
}

/** Parses `address/prefix` or returns null. Host bits may be set (`10.6.0.1/24`); they are cleared. */
export function tryParseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const prefixText = text.slice(slash + 1);
  const address = tryParseAddress(text.slice(0, slash));
  if (address === null || !PREFIX.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > addressBits(address.family)) return null;
  return { family: address.family, network: address.value & ~hostMask(address.family, prefix), prefix };
}

/** Parses a block such as `10.6.0.0/24` or `fd00:6::/64`. Throws INPUT_INVALID. */
export function parseCidr(text: string): ParsedCidr {
  const cidr = tryParseCidr(text);
  if (cidr === null) throw new TunnelgateError('INPUT_INVALID', `${JSON.stringify(text)} is not a CIDR`);
  return cidr;
}

/** A CIDR block in text form, as written (host bits allowed, e.g. an interface `Address`). */
export const Cidr = z
  .string()
  .refine((text) => tryParseCidr(text) !== null, {
    error: (issue) => `${JSON.stringify(issue.input)} is not a CIDR`,
  })
  .brand<'Cidr'>();
export type Cidr = z.infer<typeof Cidr>;

function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  let start = 0;
  while (start < 8) {
    let end = start;
    while (end < 8 && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end === start ? start + 1 : end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Formats an address: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatAddress(address: IpAddress): string {
  if (address.family === 6) return formatIpv6(address.value);
  return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
}

/** Formats a parsed block, e.g. `10.6.0.0/24`. */
export function formatCidr(cidr: ParsedCidr): string {
  return `${formatAddress({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`;
}

function asCidr(cidr: string | ParsedCidr): ParsedCidr {
  return typeof cidr === 'string' ? parseCidr(cidr) : cidr;
}

/** The first and last address of a block. Throws INPUT_INVALID on a malformed string. */
export function cidrRange(cidr: string | ParsedCidr): CidrRange {
  const parsed = asCidr(cidr);
  return { first: parsed.network, last: parsed.network | hostMask(parsed.family, parsed.prefix) };
}

/** True when the blocks share an address (blocks of different families never do). */
export function overlaps(a: string | ParsedCidr, b: string | ParsedCidr): boolean {
  const left = asCidr(a);
  const right = asCidr(b);
  if (left.family !== right.family) return false;
  const l = cidrRange(left);
  const r = cidrRange(right);
  return l.first <= r.last && r.first <= l.last;
}

/** True when `address` (e.g. `10.6.0.7`) lies in `cidr`. Throws INPUT_INVALID on malformed input. */
export function contains(cidr: string | ParsedCidr, address: string | IpAddress): boolean {
  const block = asCidr(cidr);
  const addr = typeof address === 'string' ? parseAddress(address) : address;
  if (block.family !== addr.family) return false;
  const { first, last } = cidrRange(block);
  return addr.value >= first && addr.value <= last;
}
