/**
 * The nftables ruleset: read as JSON (for logic) and as annotated text (`nft -a`, for evidence
 * lines), and a small evaluator that walks a hook's base chains in priority order for a sample
 * packet. It understands the matches hub rulesets use (interfaces, l4 protocol, ports, addresses,
 * ct state) and treats any other match as "does not match", so a rule it cannot read never
 * counts as the one that decides.
 */
import { z } from 'zod';
import { contains, tryParseCidr } from '../../wg/cidr.js';
import { hubProgram, programStep } from '../programs/registry.js';
import type { Step } from '../ssh/remote-script.js';

/** The ruleset as JSON (`$1` = json) or as text with handles (`$1` = text); reading it needs root. */
export const RULESET_SH = `case $1 in
json) exec nft -j list ruleset ;;
text) exec nft -a list ruleset ;;
*) echo "usage: tunnelgate-ruleset json|text" >&2; exit 64 ;;
esac`;
export const RULESET = hubProgram('tunnelgate-ruleset', RULESET_SH, { arity: 1 });

/** Read-only steps: the ruleset as JSON and as text with handles. */
export function firewallSteps(): Step[] {
  return [
    programStep('nft-json', RULESET, ['json'], { allowFail: true }),
    programStep('nft-text', RULESET, ['text'], { allowFail: true }),
  ];
}

const ChainItem = z.object({
  family: z.string(),
  table: z.string(),
  name: z.string(),
  type: z.string().optional(),
  hook: z.string().optional(),
  prio: z.number().optional(),
  policy: z.string().optional(),
});
const RuleItem = z.object({
  family: z.string(),
  table: z.string(),
  chain: z.string(),
  handle: z.number(),
  expr: z.array(z.record(z.string(), z.unknown())),
});

export type Chain = z.infer<typeof ChainItem> & { rules: Rule[] };
export type Rule = z.infer<typeof RuleItem> & { text: string };

/** A parsed ruleset; `chains` keyed `family table name`. */
export interface Ruleset {
  chains: Map<string, Chain>;
}

const chainKey = (family: string, table: string, name: string) => `${family} ${table} ${name}`;

/**
 * Parses `nft -j list ruleset`, attaching each rule's line from `nft -a list ruleset`. Returns
 * null when the JSON is missing or unreadable (nft absent, or no permission).
 */
export function parseRuleset(json: string, text: string): Ruleset | null {
  let items: unknown[];
  try {
    const parsed = z.object({ nftables: z.array(z.unknown()) }).safeParse(JSON.parse(json));
    if (!parsed.success) return null;
    items = parsed.data.nftables;
  } catch {
    return null;
  }
  const lines = ruleLines(text);
  const chains = new Map<string, Chain>();
  for (const item of items) {
    const chain = ChainItem.safeParse((item as { chain?: unknown }).chain);
    if (chain.success) {
      chains.set(chainKey(chain.data.family, chain.data.table, chain.data.name), {
        ...chain.data,
        rules: [],
      });
      continue;
    }
    const rule = RuleItem.safeParse((item as { rule?: unknown }).rule);
    if (!rule.success) continue;
    const owner = chains.get(chainKey(rule.data.family, rule.data.table, rule.data.chain));
    const line = lines.get(`${rule.data.family} ${rule.data.table} ${rule.data.handle}`);
    owner?.rules.push({ ...rule.data, text: line ?? `(rule ${rule.data.handle} in ${rule.data.chain})` });
  }
  return { chains };
}

/** `family table handle` -> the rule's line without its `# handle N` comment. */
function ruleLines(text: string): Map<string, string> {
  const lines = new Map<string, string>();
  let table = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const head = /^table (\S+) (\S+)/.exec(line);
    if (head) table = `${head[1]} ${head[2]}`;
    const handle = /^(.*?)\s*# handle (\d+)$/.exec(line);
    if (handle && !line.startsWith('table ') && !line.startsWith('chain ')) {
      lines.set(`${table} ${handle[2]}`, handle[1] ?? line);
    }
  }
  return lines;
}

/** The lines of a chain as evidence: its policy line and every rule. */
export function chainEvidence(chain: Chain): string[] {
  return [
    `chain ${chain.family} ${chain.table} ${chain.name}: type ${chain.type ?? '-'} hook ${chain.hook ?? '-'} policy ${chain.policy ?? 'accept'}`,
    ...chain.rules.map((r) => r.text),
  ];
}

/** A sample packet for the evaluator. Unset fields never match a rule that tests them. */
export interface Packet {
  family: 4 | 6;
  proto: 'udp' | 'tcp' | 'icmp';
  iif?: string;
  oif?: string;
  saddr?: string;
  daddr?: string;
  dport?: number;
  ct: 'new' | 'established';
}

/** What a hook does with a packet, and which rule (or policy) decided. */
export interface HookVerdict {
  verdict: 'accept' | 'drop' | 'reject' | 'masquerade';
  chain: Chain | null;
  /** The deciding rule; null when a chain policy decided (or no base chain exists). */
  rule: Rule | null;
  /** Packets counted by the deciding rule, when it has a counter. */
  packets: number | null;
}

/** Base chains on `hook` for the packet's family, in priority order. */
export function baseChains(ruleset: Ruleset, hook: string, family: 4 | 6 = 4): Chain[] {
  const families = family === 4 ? ['inet', 'ip'] : ['inet', 'ip6'];
  return [...ruleset.chains.values()]
    .filter((c) => c.hook === hook && families.includes(c.family))
    .sort((a, b) => (a.prio ?? 0) - (b.prio ?? 0));
}

/**
 * Runs the packet through every base chain on `hook`: a drop or reject anywhere ends it; an
 * accept goes on to the next base chain. `masquerade` (or snat) counts as a verdict in nat chains.
 */
export function evaluateHook(ruleset: Ruleset, hook: string, packet: Packet): HookVerdict {
  let last: HookVerdict = { verdict: 'accept', chain: null, rule: null, packets: null };
  for (const chain of baseChains(ruleset, hook, packet.family)) {
    const result = evaluateChain(ruleset, chain, packet, 0) ?? {
      verdict: chain.policy === 'drop' ? 'drop' : 'accept',
      chain,
      rule: null,
      packets: null,
    };
    if (result.verdict === 'drop' || result.verdict === 'reject') return result;
    last = result;
  }
  return last;
}

function evaluateChain(ruleset: Ruleset, chain: Chain, packet: Packet, depth: number): HookVerdict | null {
  for (const rule of chain.rules) {
    if (!rule.expr.every((e) => !('match' in e) || matches(e.match, packet))) continue;
    for (const expr of rule.expr) {
      const verdict = terminal(expr);
      if (verdict !== null) return { verdict, chain, rule, packets: counterOf(rule) };
      const jump = (expr.jump ?? expr.goto) as { target?: string } | undefined;
      if (jump?.target !== undefined && depth < 8) {
        const target = ruleset.chains.get(chainKey(chain.family, chain.table, jump.target));
        const inner = target === undefined ? null : evaluateChain(ruleset, target, packet, depth + 1);
        if (inner !== null) return inner;
        if ('goto' in expr) return null;
      }
      if ('return' in expr) return null;
    }
  }
  return null;
}

function terminal(expr: Record<string, unknown>): HookVerdict['verdict'] | null {
  if ('accept' in expr) return 'accept';
  if ('drop' in expr) return 'drop';
  if ('reject' in expr) return 'reject';
  if ('masquerade' in expr || 'snat' in expr) return 'masquerade';
  return null;
}

/** Packets counted by the rule's counter, or null without one. */
export function counterOf(rule: Rule): number | null {
  for (const expr of rule.expr) {
    const counter = expr.counter as { packets?: unknown } | undefined;
    if (counter !== undefined && typeof counter.packets === 'number') return counter.packets;
  }
  return null;
}

const PROTO_NUMBERS: Record<string, Packet['proto']> = { '17': 'udp', '6': 'tcp', '1': 'icmp' };

/** Reads the value a match's left side selects from the packet; undefined = cannot tell. */
function field(left: unknown, packet: Packet): string | number | undefined {
  const l = left as {
    meta?: { key?: string };
    payload?: { protocol?: string; field?: string };
    ct?: { key?: string };
  };
  if (l.meta?.key !== undefined) {
    switch (l.meta.key) {
      case 'iif':
      case 'iifname':
        return packet.iif;
      case 'oif':
      case 'oifname':
        return packet.oif;
      case 'l4proto':
        return packet.proto === 'icmp' && packet.family === 6 ? 'ipv6-icmp' : packet.proto;
      case 'nfproto':
        return packet.family === 4 ? 'ipv4' : 'ipv6';
      default:
        return undefined;
    }
  }
  if (l.ct?.key === 'state') return packet.ct;
  const payload = l.payload;
  if (payload?.protocol === undefined || payload.field === undefined) return undefined;
  const { protocol, field: name } = payload;
  if (protocol === 'udp' || protocol === 'tcp' || protocol === 'th') {
    if (protocol !== 'th' && packet.proto !== protocol) return Number.NaN;
    if (packet.proto === 'icmp') return Number.NaN;
    return name === 'dport' ? packet.dport : undefined;
  }
  if (protocol === 'ip' || protocol === 'ip6') {
    if ((protocol === 'ip') !== (packet.family === 4)) return Number.NaN;
    if (name === 'saddr') return packet.saddr;
    if (name === 'daddr') return packet.daddr;
    if (name === 'protocol' || name === 'nexthdr')
      return packet.proto === 'icmp' && packet.family === 6 ? 'ipv6-icmp' : packet.proto;
  }
  return undefined;
}

/** True when the match holds for the packet; false when it does not or cannot be told. */
function matches(match: unknown, packet: Packet): boolean {
  const m = match as { op?: string; left?: unknown; right?: unknown };
  const value = field(m.left, packet);
  if (value === undefined || (typeof value === 'number' && Number.isNaN(value))) return false;
  const hit = valueIn(value, m.right);
  if (hit === null) return false;
  return m.op === '!=' ? !hit : hit;
}

function valueIn(value: string | number, right: unknown): boolean | null {
  if (Array.isArray(right)) return right.some((r) => valueIn(value, r) === true);
  if (typeof right === 'number' || typeof right === 'string') {
    if (typeof right === 'string' && typeof value === 'string' && right.includes('/'))
      return inPrefix(value, right);
    return String(right) === String(value) || PROTO_NUMBERS[String(right)] === value;
  }
  const r = right as { set?: unknown; range?: unknown; prefix?: { addr?: string; len?: number } };
  if (r?.set !== undefined) return valueIn(value, r.set);
  if (Array.isArray(r?.range) && typeof value === 'number') {
    const [lo, hi] = r.range as number[];
    return value >= (lo ?? 0) && value <= (hi ?? -1);
  }
  if (r?.prefix?.addr !== undefined && typeof value === 'string')
    return inPrefix(value, `${r.prefix.addr}/${r.prefix.len}`);
  return null;
}

function inPrefix(address: string, cidr: string): boolean | null {
  const block = tryParseCidr(cidr);
  if (block === null) return null;
  try {
    return contains(block, address);
  } catch {
    return null;
  }
}
