/**
 * The `/vpn …` grammar: turns one line of chat or shell text into a validated {@link Command}, or
 * into an error reply that names the bad token and shows that subcommand's usage line. Every value
 * passes its id pattern (device, key, peer, user, request id) and free text stays one inert line,
 * so nothing typed here can smuggle shell syntax toward a hub.
 */
import type { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { TunnelgateError } from '../core/errors.js';
import { DecisionId, DeviceName, HubName, PeerName, UserId } from '../core/ids.js';
import type { ErrorReply } from '../domain/error-reply.js';
import { Command, KeyPrefix, ListScope, Reason, UNSAFE_TEXT, type Verb } from '../domain/models/command.js';
import { FindingId } from '../domain/models/diagnosis.js';
import { PublicKey } from '../wg/keys.js';
import { parseReview } from './grammar-review.js';

/** A parsed command, or the reply explaining why the text is not one. */
export type ParseResult = { ok: true; command: Command } | { ok: false; reply: ErrorReply };

/** One subcommand's usage line and one-line description. */
export interface UsageLine {
  usage: string;
  summary: string;
}

/** Usage line and description per subcommand, in the order help lists them. */
export const USAGE: Readonly<Record<Verb, UsageLine>> = {
  help: { usage: '/vpn help [topic]', summary: 'list the commands, or show details and examples for one' },
  request: {
    usage: '/vpn request <device> [--hub NAME] [--full] [--pubkey KEY] [--for DURATION] [--reason TEXT]',
    summary: 'ask for VPN access for one of your devices',
  },
  approve: { usage: '/vpn approve <request-id>', summary: 'approve a pending access request' },
  deny: { usage: '/vpn deny <request-id> [reason]', summary: 'deny a pending access request, saying why' },
  revoke: { usage: '/vpn revoke <peer>', summary: 'remove a peer from its hub' },
  offboard: {
    usage: '/vpn offboard <user>',
    summary: "remove all of a user's peers and close their requests",
  },
  list: { usage: '/vpn list [mine|pending|all]', summary: 'list peers and pending requests (default: mine)' },
  status: { usage: '/vpn status [peer]', summary: 'show live handshake and transfer for peers' },
  log: { usage: '/vpn log [N]', summary: 'show the last N audit log entries (default 20)' },
  diagnose: {
    usage: '/vpn diagnose <peer|hub>',
    summary: 'find the broken layer: reachability, handshake, tunnel, routing, performance',
  },
  audit: { usage: '/vpn audit [hub]', summary: "check a hub for the guide's unnecessary holes" },
  fix: {
    usage: '/vpn fix <finding-id> [--approve]',
    summary: "propose a report's mechanical fix; a lead approves it with --approve",
  },
  rotate: {
    usage: '/vpn rotate <peer> [--pubkey KEY]',
    summary: "replace a peer's key without downtime; the owner gets the new config",
  },
  extend: {
    usage: '/vpn extend <peer> <duration>',
    summary: 'ask leads to extend time-bound access, e.g. by 4h',
  },
  breakglass: {
    usage: '/vpn breakglass <hub> --incident ID [--for DURATION] [--full] [--reason TEXT]',
    summary: 'on call for an open incident: time-bound access at once, leads are told',
  },
  review: {
    usage:
      '/vpn review start [--hub NAME] [--due DURATION] | status | report [ID] | keep <peer> | revoke <peer>',
    summary: 'access reviews: every owner confirms or revokes each of their peers',
  },
  resend: {
    usage: '/vpn resend <peer>',
    summary: 'get a config again whose direct message did not arrive',
  },
  reconcile: {
    usage: '/vpn reconcile [hub]',
    summary: 'compare hubs with the inventory: missing, foreign and overlapping peers',
  },
  adopt: {
    usage: '/vpn adopt <hub> <key-prefix> --owner USER --name DEVICE',
    summary: 'put a peer made outside Tunnelgate under management',
  },
};

/** Every subcommand, in help order. */
export const VERBS = Object.keys(USAGE) as readonly Verb[];

/** Longest accepted input; the longest legitimate command is far shorter. */
const MAX_LENGTH = 1_000;
/** Opening quote -> closing quote. Curly quotes are what Slack's autocorrect types. */
const QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", '\u201c': '\u201d' };
const MAX_LOG_COUNT = 200;
const MAX_REASON = 300;

/** Options of `request`: name -> value placeholder (null for a switch). */
const REQUEST_OPTIONS = {
  '--hub': 'NAME',
  '--full': null,
  '--pubkey': 'KEY',
  '--for': 'DURATION',
  '--reason': 'TEXT',
} as const;

interface Token {
  text: string;
  /** True when any part was quoted: such a token is always a value, never an option. */
  quoted: boolean;
}

/**
 * Parses `/vpn …` text (the `/vpn` prefix is optional) into a {@link Command}. Empty text is
 * `help`. Never throws for bad input: the failure is an `INPUT_INVALID` error reply.
 */
export function parseCommand(text: string): ParseResult {
  let verb: Verb | undefined;
  try {
    const cursor = new Cursor(checkLine(text));
    let first = cursor.next();
    if (first !== null && !first.quoted && first.text.toLowerCase() === '/vpn') first = cursor.next();
    if (first === null) return { ok: true, command: { verb: 'help' } };
    verb = toVerb(first);
    return { ok: true, command: validate(parseArguments(verb, cursor), verb) };
  } catch (err) {
    if (err instanceof TunnelgateError && err.code === 'INPUT_INVALID') {
      return { ok: false, reply: inputError(err.message, verb) };
    }
    throw err;
  }
}

function inputError(message: string, verb: Verb | undefined): ErrorReply {
  if (verb === undefined) {
    return { kind: 'error', code: 'INPUT_INVALID', message, hint: 'see /vpn help for every command' };
  }
  const hint = verb === 'help' ? 'see /vpn help' : `see /vpn help ${verb} for examples`;
  return { kind: 'error', code: 'INPUT_INVALID', message, hint, usage: USAGE[verb].usage };
}

function fail(message: string): never {
  throw new TunnelgateError('INPUT_INVALID', message);
}

/** Shows a token in a message: quoted, and cut short when long. */
function show(text: string): string {
  return `"${text.length > 40 ? `${text.slice(0, 39)}…` : text}"`;
}

function checkLine(text: string): string {
  const line = text.trim();
  if (line.length > MAX_LENGTH) {
    fail(`the command is ${line.length} characters long; keep it to ${MAX_LENGTH} at most`);
  }
  // The command model's rule (tabs aside, which only separate tokens).
  if (UNSAFE_TEXT.test(line.replaceAll('\t', ' '))) {
    fail('commands are one line: line breaks and control characters are not allowed');
  }
  return line;
}

/** Reads whitespace-separated tokens with shell-like quoting, on demand (so `deny` can take the rest). */
class Cursor {
  private pos = 0;

  constructor(private readonly line: string) {}

  next(): Token | null {
    const { line } = this;
    let i = this.pos;
    while (i < line.length && isSpace(line[i])) i++;
    if (i >= line.length) {
      this.pos = i;
      return null;
    }
    let text = '';
    let quoted = false;
    while (i < line.length && !isSpace(line[i])) {
      const ch = line[i] ?? '';
      const close = QUOTES[ch];
      if (close === undefined) {
        text += ch;
        i++;
        continue;
      }
      const end = line.indexOf(close, i + 1);
      if (end < 0) fail(`unterminated ${ch} quote: close it with ${close}`);
      text += line.slice(i + 1, end);
      quoted = true;
      i = end + 1;
    }
    this.pos = i;
    return { text, quoted };
  }

  /** Everything not read yet, trimmed; consumes it. */
  rest(): string {
    const rest = this.line.slice(this.pos).trim();
    this.pos = this.line.length;
    return rest;
  }
}

function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t';
}

function isOption(token: Token): boolean {
  return !token.quoted && /^--?[A-Za-z]/.test(token.text);
}

function toVerb(token: Token): Verb {
  const word = token.text.toLowerCase();
  const verb = VERBS.find((v) => v === word);
  if (verb === undefined) fail(`unknown subcommand ${show(token.text)}: use one of ${VERBS.join(', ')}`);
  return verb;
}

type CommandInput = z.input<typeof Command>;

function parseArguments(verb: Verb, cursor: Cursor): CommandInput {
  switch (verb) {
    case 'help': {
      const topic = optionalArgument(cursor, verb);
      end(cursor, verb, 'one topic');
      if (topic === null) return { verb };
      const word = topic.toLowerCase();
      if (!VERBS.includes(word as Verb))
        fail(`unknown help topic ${show(topic)}: topics are ${VERBS.join(', ')}`);
      return { verb, topic: word };
    }
    case 'request':
      return parseRequest(cursor);
    case 'approve': {
      const requestId = requiredArgument(
        cursor,
        verb,
        'approve needs a request id, e.g. /vpn approve r-7k3m9q',
      );
      expectValid(DecisionId, requestId, 'id');
      end(cursor, verb, 'one request id');
      return { verb, requestId };
    }
    case 'deny': {
      const requestId = requiredArgument(
        cursor,
        verb,
        'deny needs a request id, e.g. /vpn deny r-7k3m9q not needed',
      );
      expectValid(DecisionId, requestId, 'id');
      const reason = unquote(cursor.rest().replace(/^--reason(?:=|\s+|$)/, ''));
      if (reason === '') return { verb, requestId };
      return { verb, requestId, reason: checkReason(reason) };
    }
    case 'revoke': {
      const peer = requiredArgument(cursor, verb, 'revoke needs a peer name, e.g. /vpn revoke alice-laptop');
      expectValid(PeerName, peer, 'peer name');
      end(cursor, verb, 'one peer name');
      return { verb, peer };
    }
    case 'resend': {
      const peer = requiredArgument(cursor, verb, 'resend needs a peer name, e.g. /vpn resend alice-laptop');
      expectValid(PeerName, peer, 'peer name');
      end(cursor, verb, 'one peer name');
      return { verb, peer };
    }
    case 'offboard': {
      const mention = requiredArgument(cursor, verb, 'offboard needs a user, e.g. /vpn offboard alice');
      const user = mentionedUser(mention);
      expectValid(UserId, user, 'user id');
      end(cursor, verb, 'one user');
      return { verb, user };
    }
    case 'list': {
      const scope = optionalArgument(cursor, verb);
      end(cursor, verb, 'one scope');
      if (scope === null) return { verb };
      const parsed = ListScope.safeParse(scope.toLowerCase());
      if (!parsed.success) fail(`${show(scope)} is not a list scope: use mine, pending or all`);
      return { verb, scope: parsed.data };
    }
    case 'status': {
      const peer = optionalArgument(cursor, verb);
      end(cursor, verb, 'one peer name');
      if (peer === null) return { verb };
      expectValid(PeerName, peer, 'peer name');
      return { verb, peer };
    }
    case 'log': {
      const count = optionalArgument(cursor, verb);
      end(cursor, verb, 'one count');
      if (count === null) return { verb };
      const n = /^\d{1,4}$/.test(count) ? Number(count) : Number.NaN;
      if (!(n >= 1 && n <= MAX_LOG_COUNT)) {
        fail(`${show(count)} is not a valid count: give a whole number from 1 to ${MAX_LOG_COUNT}`);
      }
      return { verb, count: n };
    }
    case 'diagnose': {
      const target = requiredArgument(
        cursor,
        verb,
        'diagnose needs a peer or hub, e.g. /vpn diagnose alice-laptop',
      );
      expectValid(PeerName, target, 'peer or hub name');
      end(cursor, verb, 'one peer or hub name');
      return { verb, target };
    }
    case 'audit': {
      const hub = optionalArgument(cursor, verb);
      end(cursor, verb, 'one hub name');
      if (hub === null) return { verb };
      expectValid(HubName, hub, 'hub name');
      return { verb, hub };
    }
    case 'fix':
      return parseFix(cursor);
    case 'rotate':
      return parseRotate(cursor);
    case 'breakglass':
      return parseBreakGlass(cursor);
    case 'extend': {
      const peer = requiredArgument(
        cursor,
        verb,
        'extend needs a peer and a duration, e.g. /vpn extend alice-laptop 4h',
      );
      expectValid(PeerName, peer, 'peer name');
      const duration = requiredArgument(
        cursor,
        verb,
        'extend needs a duration, e.g. /vpn extend alice-laptop 4h',
      );
      end(cursor, verb, 'one peer name and one duration');
      return { verb, peer, forMs: checkDuration(duration) };
    }
    case 'review': {
      const tokens: Token[] = [];
      for (let token = cursor.next(); token !== null; token = cursor.next()) tokens.push(token);
      return parseReview(tokens, checkDuration);
    }
    case 'reconcile': {
      const hub = optionalArgument(cursor, verb);
      end(cursor, verb, 'one hub name');
      if (hub === null) return { verb };
      expectValid(HubName, hub, 'hub name');
      return { verb, hub };
    }
    case 'adopt':
      return parseAdopt(cursor);
    default: {
      const unreachable: never = verb;
      return unreachable;
    }
  }
}

/** `adopt <hub> <key-prefix> --owner USER --name DEVICE` (options also as `--owner=USER`). */
function parseAdopt(cursor: Cursor): CommandInput {
  const { positionals, options } = readOptions(cursor, 'adopt', { '--owner': 'USER', '--name': 'DEVICE' });
  const [hub, keyPrefix, extra] = positionals;
  const example = 'e.g. /vpn adopt hub1 Xy3k9 --owner alice --name gateway';
  if (hub === undefined || keyPrefix === undefined) fail(`adopt needs a hub and a key prefix, ${example}`);
  if (extra !== undefined) fail(`unexpected argument ${show(extra)}: adopt takes one hub and one key prefix`);
  expectValid(HubName, hub, 'hub name');
  expectValid(KeyPrefix, keyPrefix, 'key prefix');
  const owner = options.get('--owner') ?? fail(`adopt needs --owner USER, ${example}`);
  const user = mentionedUser(owner);
  expectValid(UserId, user, 'user id');
  const device = options.get('--name') ?? fail(`adopt needs --name DEVICE, ${example}`);
  expectValid(DeviceName, device, 'device name');
  return { verb: 'adopt', hub, keyPrefix, owner: user, device };
}

function parseRequest(cursor: Cursor): CommandInput {
  const { positionals, options } = readOptions(cursor, 'request', REQUEST_OPTIONS);
  const [device, extra] = positionals;
  if (device === undefined) fail('request needs a device name, e.g. /vpn request laptop');
  if (extra !== undefined) {
    const quoteTip = options.has('--reason')
      ? ' (put text with spaces in quotes: --reason "on-call access")'
      : '';
    fail(`unexpected argument ${show(extra)}: request takes one device name${quoteTip}`);
  }
  expectValid(DeviceName, device, 'device name');

  const hub = options.get('--hub');
  if (hub !== undefined) expectValid(HubName, hub, 'hub name');
  const pubkey = options.get('--pubkey');
  if (pubkey !== undefined) checkPublicKey(pubkey);
  const duration = options.get('--for');
  const forMs = duration === undefined ? undefined : checkDuration(duration);
  const reasonText = options.get('--reason');
  const reason = reasonText === undefined ? undefined : checkReason(reasonText);
  const full = options.has('--full');
  if (full && reason === undefined) {
    fail('full tunnel needs --reason: say why this device should route all traffic through the VPN');
  }
  return {
    verb: 'request',
    device,
    full,
    ...(hub === undefined ? {} : { hub }),
    ...(pubkey === undefined ? {} : { pubkey }),
    ...(forMs === undefined ? {} : { forMs }),
    ...(reason === undefined ? {} : { reason }),
  };
}

/** `rotate <peer> [--pubkey KEY]` (also `--pubkey=KEY`). */
function parseRotate(cursor: Cursor): CommandInput {
  const { positionals, options } = readOptions(cursor, 'rotate', { '--pubkey': 'KEY' });
  const [peer, extra] = positionals;
  if (peer === undefined) fail('rotate needs a peer name, e.g. /vpn rotate alice-laptop');
  if (extra !== undefined) fail(`unexpected argument ${show(extra)}: rotate takes one peer name`);
  expectValid(PeerName, peer, 'peer name');
  const pubkey = options.get('--pubkey');
  if (pubkey !== undefined) checkPublicKey(pubkey);
  return { verb: 'rotate', peer, ...(pubkey === undefined ? {} : { pubkey }) };
}

/** `breakglass <hub> --incident ID [--for DURATION] [--full] [--reason TEXT]` (also `--opt=value`). */
function parseBreakGlass(cursor: Cursor): CommandInput {
  const { positionals, options } = readOptions(cursor, 'breakglass', {
    '--incident': 'ID',
    '--for': 'DURATION',
    '--full': null,
    '--reason': 'TEXT',
  });
  const [hub, extra] = positionals;
  if (extra !== undefined) fail(`unexpected argument ${show(extra)}: breakglass takes one hub name`);
  if (hub === undefined) fail('breakglass needs a hub, e.g. /vpn breakglass hub1 --incident PT4KHLK');
  expectValid(HubName, hub, 'hub name');
  const incident =
    options.get('--incident') ?? fail('breakglass needs --incident ID: the open incident it is for');
  const duration = options.get('--for');
  const reason = options.get('--reason');
  return {
    verb: 'breakglass',
    hub,
    incident,
    full: options.has('--full'),
    ...(duration === undefined ? {} : { forMs: checkDuration(duration) }),
    ...(reason === undefined ? {} : { reason: checkReason(reason) }),
  };
}

/** `fix <finding-id> [--approve]`. */
function parseFix(cursor: Cursor): CommandInput {
  let findingId: string | undefined;
  let approve = false;
  for (let token = cursor.next(); token !== null; token = cursor.next()) {
    if (isOption(token)) {
      if (token.text !== '--approve') fail(`unknown option ${show(token.text)}: fix takes --approve`);
      approve = true;
      continue;
    }
    if (findingId !== undefined) fail(`unexpected argument ${show(token.text)}: fix takes one finding id`);
    findingId = token.text;
  }
  if (findingId === undefined) fail('fix needs a finding id from a report, e.g. /vpn fix f-3k9m2q7a');
  expectValid(FindingId, findingId, 'finding id');
  return { verb: 'fix', findingId, approve };
}

/**
 * Reads a verb's remaining tokens: positionals in order, and the options `takes` names (name ->
 * value placeholder, null for a switch), each at most once, as `--name value` or `--name=value`.
 * Fails on an unknown option, a repeated one, a switch given a value, or a missing value.
 */
function readOptions(
  cursor: Cursor,
  verb: string,
  takes: Readonly<Record<string, string | null>>,
): { positionals: string[]; options: Map<string, string> } {
  const positionals: string[] = [];
  const options = new Map<string, string>();
  for (let token = cursor.next(); token !== null; token = cursor.next()) {
    if (!isOption(token)) {
      positionals.push(token.text);
      continue;
    }
    const eq = token.text.indexOf('=');
    const name = eq < 0 ? token.text : token.text.slice(0, eq);
    const inline = eq < 0 ? undefined : token.text.slice(eq + 1);
    const placeholder = Object.hasOwn(takes, name) ? takes[name] : undefined;
    if (placeholder === undefined) {
      fail(`unknown option ${show(name)}: ${verb} takes ${Object.keys(takes).join(', ')}`);
    }
    if (options.has(name)) fail(`${name} is given twice; give it once`);
    if (placeholder === null) {
      if (inline !== undefined) fail(`${name} takes no value`);
      options.set(name, '');
      continue;
    }
    options.set(name, inline ?? optionValue(cursor, name, placeholder));
  }
  return { positionals, options };
}

/** Fails unless `text` is a WireGuard public key (the key schema's message quotes the bad value). */
function checkPublicKey(text: string): void {
  const key = PublicKey.safeParse(text);
  if (!key.success) fail(key.error.issues[0]?.message ?? `${show(text)} is not a WireGuard public key`);
}

/** The user id in a Slack or Discord mention (`<@U0123|alice>`, `<@!1234>`), or the text as it is. */
function mentionedUser(text: string): string {
  return /^<@!?([^|>]+)(?:\|[^>]*)?>$/.exec(text)?.[1] ?? text;
}

function optionValue(cursor: Cursor, name: string, placeholder: string): string {
  const token = cursor.next();
  if (token === null || isOption(token)) fail(`${name} needs a value: ${name} ${placeholder}`);
  return token.text;
}

/** The next argument, or null at the end; an option-looking token is an unknown option here. */
function optionalArgument(cursor: Cursor, verb: Verb): string | null {
  const token = cursor.next();
  if (token === null) return null;
  if (isOption(token)) fail(`unknown option ${show(token.text)}: ${verb} takes no options`);
  return token.text;
}

function requiredArgument(cursor: Cursor, verb: Verb, missing: string): string {
  return optionalArgument(cursor, verb) ?? fail(missing);
}

function end(cursor: Cursor, verb: Verb, takes: string): void {
  const extra = optionalArgument(cursor, verb);
  if (extra !== null) fail(`unexpected argument ${show(extra)}: ${verb} takes ${takes}`);
}

function expectValid(schema: z.ZodType, text: string, what: string): void {
  const result = schema.safeParse(text);
  if (!result.success) {
    fail(`${show(text)} is not a valid ${what}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  }
}

const MAX_DURATION_MS = 3_650 * 86_400_000;

function checkDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null || !Number.isSafeInteger(ms)) {
    fail(`${show(text)} is not a valid duration: use e.g. 30m, 8h, 7d or 1d12h`);
  }
  // Far beyond any policy.maxDuration, and still a valid date when added to now.
  if (ms > MAX_DURATION_MS) fail(`${show(text)} is too long: durations go up to 10 years (3650d)`);
  return ms;
}

function checkReason(text: string): string {
  const reason = text.trim();
  if (reason === '') fail('the reason is empty: say in a few words why');
  if (reason.length > MAX_REASON)
    fail(`the reason is ${reason.length} characters long; keep it to ${MAX_REASON}`);
  const result = Reason.safeParse(reason);
  if (!result.success) fail(`the reason is not valid: ${result.error.issues[0]?.message ?? 'invalid'}`);
  return result.data;
}

/** Removes one pair of quotes around the whole text, e.g. a quoted deny reason. */
function unquote(text: string): string {
  const open = text[0];
  const close = open === undefined ? undefined : QUOTES[open];
  if (close === undefined || text.length < 2 || !text.endsWith(close)) return text;
  const inner = text.slice(1, -1);
  return inner.includes(close) ? text : inner;
}

function validate(input: CommandInput, verb: Verb): Command {
  const result = Command.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  return fail(`${verb}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid command'}`);
}
