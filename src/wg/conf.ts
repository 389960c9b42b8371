/**
 * A wg-quick config file (`/etc/wireguard/wg0.conf`) as ordered sections of raw lines, so that
 * parsing and rendering an unmodified file gives back the same bytes: comments, blank lines, key
 * case, spacing, unknown keys and CRLF line ends all survive. Typed accessors read it the way
 * `wg`/wg-quick do: keys are case-insensitive, `#` starts a comment, values are trimmed.
 *
 * The blank and comment lines right above a header (from the first blank line on) belong to the
 * section below, so removing a peer also removes its separating blank line and its comments.
 */
import { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';
import { Cidr, tryParseAddress } from './cidr.js';
import { PrivateKey, PublicKey } from './keys.js';
import { formatPeerMetaLine, isPeerMetaLine, PeerMeta, parsePeerMetaLine } from './peer-meta.js';

/** What a section's header says; `preamble` holds the lines before the first header. */
export type SectionKind = 'preamble' | 'interface' | 'peer' | 'other';

/** One section: leading blank/comment lines, the header line, then the body, all verbatim. */
export interface ConfSection {
  readonly kind: SectionKind;
  /** Raw lines without their `\n` (a CRLF file keeps the `\r`). */
  readonly lines: readonly string[];
  /** Index of the header in `lines`; -1 for the preamble. */
  readonly headerIndex: number;
}

/** A parsed config file. Treat it as immutable; {@link addPeer}/{@link removePeer} return copies. */
export interface WgConf {
  readonly sections: readonly ConfSection[];
  /** Whether the text ended with a line break. */
  readonly finalNewline: boolean;
}

/** A `[Peer]` section as WireGuard reads it. The preshared key itself is never exposed. */
export const ConfPeer = z.object({
  publicKey: PublicKey,
  /** Every AllowedIPs entry in order; a bare address gets its `/32` or `/128`. */
  allowedIps: z.array(Cidr),
  endpoint: z.string().nullable(),
  /** Seconds; null when absent or `off`. */
  persistentKeepalive: z.number().int().min(1).max(65_535).nullable(),
  hasPresharedKey: z.boolean(),
  /** Null for peers Tunnelgate did not create (no `# tunnelgate:` line). */
  meta: PeerMeta.nullable(),
  /** 1-based line number of the `[Peer]` header, for messages. */
  line: z.number().int().min(1),
});
export type ConfPeer = z.infer<typeof ConfPeer>;

/** The `[Interface]` settings Tunnelgate cares about; the private key has its own accessor. */
export const InterfaceSettings = z.object({
  /** Every Address entry, with prefix, e.g. `10.6.0.1/24`. */
  addresses: z.array(Cidr),
  listenPort: z.number().int().min(1).max(65_535).nullable(),
  mtu: z.number().int().min(1).nullable(),
  dns: z.array(z.string()),
  table: z.string().nullable(),
  fwMark: z.string().nullable(),
  /**
   * True when wg-quick rewrites the file from live state on `down`, which would erase every
   * `# tunnelgate:` comment: callers should refuse to manage such a hub.
   */
  saveConfig: z.boolean(),
  preUp: z.array(z.string()),
  postUp: z.array(z.string()),
  preDown: z.array(z.string()),
  postDown: z.array(z.string()),
  hasPrivateKey: z.boolean(),
});
export type InterfaceSettings = z.infer<typeof InterfaceSettings>;

/** A peer to append with {@link addPeer}. PersistentKeepalive is left out unless given. */
export const NewPeer = z.object({
  publicKey: PublicKey,
  allowedIps: z.array(Cidr).min(1),
  meta: PeerMeta,
  persistentKeepalive: z.number().int().min(1).max(65_535).optional(),
});
export type NewPeer = z.infer<typeof NewPeer>;

interface Entry {
  key: string;
  value: string;
  line: number;
}

function stripComment(line: string): string {
  const hash = line.indexOf('#');
  return (hash < 0 ? line : line.slice(0, hash)).trim();
}

function isBlank(line: string): boolean {
  return line.trim() === '';
}

function isPlainComment(line: string): boolean {
  return line.trim().startsWith('#') && !isPeerMetaLine(line);
}

function sectionKind(header: string): SectionKind {
  const name = stripComment(header).toLowerCase();
  if (name === '[interface]') return 'interface';
  return name === '[peer]' ? 'peer' : 'other';
}

/**
 * How many lines at the end of `lines` (after index `floor`) belong to the next section: the run
 * of blank and comment lines right above its header, from the run's first blank line on. Comments
 * with no blank line between them and the body above stay with that body.
 */
function leadingCount(lines: readonly string[], floor: number): number {
  let start = lines.length;
  while (start - 1 > floor && (isBlank(lines[start - 1] ?? '') || isPlainComment(lines[start - 1] ?? ''))) {
    start -= 1;
  }
  while (start < lines.length && !isBlank(lines[start] ?? '')) start += 1;
  return lines.length - start;
}

/** Splits config text into sections. Never throws: every text round-trips through renderWgConf. */
export function parseWgConf(text: string): WgConf {
  if (text === '') return { sections: [], finalNewline: false };
  const finalNewline = text.endsWith('\n');
  const lines = (finalNewline ? text.slice(0, -1) : text).split('\n');
  let current: { kind: SectionKind; lines: string[]; headerIndex: number } = {
    kind: 'preamble',
    lines: [],
    headerIndex: -1,
  };
  const sections = [current];
  for (const line of lines) {
    if (stripComment(line).startsWith('[')) {
      const moved = current.lines.splice(
        current.lines.length - leadingCount(current.lines, current.headerIndex),
      );
      current = { kind: sectionKind(line), lines: [...moved, line], headerIndex: moved.length };
      sections.push(current);
    } else {
      current.lines.push(line);
    }
  }
  return { sections: sections.filter((s) => s.lines.length > 0), finalNewline };
}

/** Joins the sections back into text; the identity on an unmodified {@link parseWgConf} result. */
export function renderWgConf(conf: WgConf): string {
  const lines = conf.sections.flatMap((section) => section.lines);
  if (lines.length === 0) return '';
  return `${lines.join('\n')}${conf.finalNewline ? '\n' : ''}`;
}

/** Each section with the 1-based file line number of its first line. */
function withLineNumbers(conf: WgConf): { section: ConfSection; start: number }[] {
  let start = 1;
  return conf.sections.map((section) => {
    const entry = { section, start };
    start += section.lines.length;
    return entry;
  });
}

function entries(section: ConfSection, start: number): Entry[] {
  const found: Entry[] = [];
  section.lines.forEach((raw, i) => {
    if (i <= section.headerIndex) return;
    const line = stripComment(raw);
    const eq = line.indexOf('=');
    if (eq < 0) return;
    found.push({
      key: line.slice(0, eq).trim().toLowerCase(),
      value: line.slice(eq + 1).trim(),
      line: start + i,
    });
  });
  return found;
}

function invalid(line: number, problem: string): TunnelgateError {
  return new TunnelgateError('HUB_STATE_INVALID', `WireGuard config line ${line}: ${problem}`, {
    hint: 'fix the hub config file by hand, or restore it from the last backup',
  });
}

function all(found: Entry[], key: string): Entry[] {
  return found.filter((entry) => entry.key === key);
}

function last(found: Entry[], key: string): Entry | undefined {
  return all(found, key).at(-1);
}

function list(found: Entry[], key: string): string[] {
  return all(found, key).flatMap((entry) =>
    entry.value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  );
}

function integer(entry: Entry | undefined, min: number, max: number): number | null {
  if (entry === undefined) return null;
  const value = /^\d{1,9}$/.test(entry.value) ? Number(entry.value) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw invalid(entry.line, `${JSON.stringify(entry.value)} is not a number from ${min} to ${max}`);
  }
  return value;
}

function cidrs(found: Entry[], key: string): Cidr[] {
  return all(found, key).flatMap((entry) =>
    list([entry], key).map((item) => {
      const address = tryParseAddress(item);
      const text = address === null ? item : `${item}/${address.family === 4 ? 32 : 128}`;
      const parsed = Cidr.safeParse(text);
      if (!parsed.success) throw invalid(entry.line, `${JSON.stringify(item)} is not an IP address or CIDR`);
      return parsed.data;
    }),
  );
}

function interfaceSection(conf: WgConf): { section: ConfSection; start: number } {
  const found = withLineNumbers(conf).filter(({ section }) => section.kind === 'interface');
  const [first, second] = found;
  if (first === undefined) throw invalid(1, 'there is no [Interface] section');
  if (second !== undefined) {
    throw invalid(second.start + second.section.headerIndex, 'a second [Interface] section');
  }
  return first;
}

/** Reads `[Interface]`. Throws HUB_STATE_INVALID when it is missing, doubled, or has bad numbers. */
export function interfaceSettings(conf: WgConf): InterfaceSettings {
  const { section, start } = interfaceSection(conf);
  const found = entries(section, start);
  return {
    addresses: cidrs(found, 'address'),
    listenPort: integer(last(found, 'listenport'), 1, 65_535),
    mtu: integer(last(found, 'mtu'), 576, 65_535),
    dns: list(found, 'dns'),
    table: last(found, 'table')?.value ?? null,
    fwMark: last(found, 'fwmark')?.value ?? null,
    saveConfig: last(found, 'saveconfig')?.value.toLowerCase() === 'true',
    preUp: all(found, 'preup').map((e) => e.value),
    postUp: all(found, 'postup').map((e) => e.value),
    preDown: all(found, 'predown').map((e) => e.value),
    postDown: all(found, 'postdown').map((e) => e.value),
    hasPrivateKey: last(found, 'privatekey') !== undefined,
  };
}

/** The hub's private key, or null when absent. Throws HUB_STATE_INVALID (without the value). */
export function interfacePrivateKey(conf: WgConf): PrivateKey | null {
  const { section, start } = interfaceSection(conf);
  const entry = last(entries(section, start), 'privatekey');
  if (entry === undefined) return null;
  const parsed = PrivateKey.safeParse(entry.value);
  if (!parsed.success) throw invalid(entry.line, 'PrivateKey is not a WireGuard key');
  return parsed.data;
}

function readPeer(section: ConfSection, start: number): ConfPeer {
  const line = start + section.headerIndex;
  const found = entries(section, start);
  const keyEntry = last(found, 'publickey');
  if (keyEntry === undefined) throw invalid(line, '[Peer] has no PublicKey');
  const publicKey = PublicKey.safeParse(keyEntry.value);
  if (!publicKey.success) throw invalid(keyEntry.line, publicKey.error.issues[0]?.message ?? 'bad PublicKey');
  const keepalive = last(found, 'persistentkeepalive');
  const metaLines = section.lines
    .map((raw, i) => ({ raw, line: start + i }))
    .filter(({ raw }, i) => i > section.headerIndex && isPeerMetaLine(raw));
  const [meta, extra] = metaLines;
  if (extra !== undefined) throw invalid(extra.line, 'a second tunnelgate comment in one [Peer]');
  return {
    publicKey: publicKey.data,
    allowedIps: cidrs(found, 'allowedips'),
    endpoint: last(found, 'endpoint')?.value ?? null,
    persistentKeepalive: keepalive?.value.toLowerCase() === 'off' ? null : integer(keepalive, 1, 65_535),
    hasPresharedKey: last(found, 'presharedkey') !== undefined,
    meta: meta === undefined ? null : parsePeerMetaLine(meta.raw, meta.line),
    line,
  };
}

/**
 * Every `[Peer]` in file order. Throws HUB_STATE_INVALID naming the line when a peer has no or a
 * bad PublicKey, a bad tunnelgate comment, or when two sections share a public key.
 */
export function listPeers(conf: WgConf): ConfPeer[] {
  const peers = withLineNumbers(conf)
    .filter(({ section }) => section.kind === 'peer')
    .map(({ section, start }) => readPeer(section, start));
  const seen = new Map<string, number>();
  for (const peer of peers) {
    const earlier = seen.get(peer.publicKey);
    if (earlier !== undefined) {
      throw invalid(peer.line, `the same PublicKey as the [Peer] on line ${earlier}`);
    }
    seen.set(peer.publicKey, peer.line);
  }
  return peers;
}

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (i) => (i.path.length > 0 ? `${i.path.join('.')}: ` : '') + i.message,
  );
  throw new TunnelgateError('INPUT_INVALID', `invalid ${what}: ${problems.join('; ')}`);
}

/**
 * The exact text appended to a config for a new peer: a blank line, `[Peer]`, the tunnelgate
 * comment, PublicKey, AllowedIPs (joined by `, ` as `wg showconf` does) and, if given,
 * PersistentKeepalive, each line ending in `\n`. Throws INPUT_INVALID on bad input.
 */
export function renderPeerSection(peer: z.input<typeof NewPeer>): string {
  const valid = validate(NewPeer, peer, 'peer');
  const lines = [
    '',
    '[Peer]',
    formatPeerMetaLine(valid.meta),
    `PublicKey = ${valid.publicKey}`,
    `AllowedIPs = ${valid.allowedIps.join(', ')}`,
  ];
  if (valid.persistentKeepalive !== undefined) {
    lines.push(`PersistentKeepalive = ${valid.persistentKeepalive}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Appends {@link renderPeerSection}'s block (with `\r\n` line ends in a CRLF file). Throws
 * CONFLICT when a peer with that public key exists, INPUT_INVALID on bad input, and
 * HUB_STATE_INVALID when the existing peers cannot be read.
 */
export function addPeer(conf: WgConf, peer: z.input<typeof NewPeer>): WgConf {
  const block = renderPeerSection(peer);
  const existing = listPeers(conf).find((p) => p.publicKey === peer.publicKey);
  if (existing !== undefined) {
    throw new TunnelgateError(
      'CONFLICT',
      `peer ${peer.publicKey} is already configured (line ${existing.line})`,
    );
  }
  const crlf = conf.sections[0]?.lines[0]?.endsWith('\r') ?? false;
  const lines = block
    .slice(0, -1)
    .split('\n')
    .map((line) => (crlf ? `${line}\r` : line));
  return {
    sections: [...conf.sections, { kind: 'peer', lines, headerIndex: 1 }],
    finalNewline: true,
  };
}

/**
 * Removes the `[Peer]` with this public key, with its leading blank line and comment block.
 * Throws NOT_FOUND when there is none, HUB_STATE_INVALID when the peers cannot be read.
 */
export function removePeer(conf: WgConf, publicKey: string): WgConf {
  const target = listPeers(conf).find((peer) => peer.publicKey === publicKey);
  if (target === undefined) throw new TunnelgateError('NOT_FOUND', `no peer ${publicKey} in the config`);
  const kept = withLineNumbers(conf).filter(
    ({ section, start }) => section.kind !== 'peer' || start + section.headerIndex !== target.line,
  );
  return { sections: kept.map(({ section }) => section), finalNewline: conf.finalNewline };
}
