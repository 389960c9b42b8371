/**
 * The arguments of `/vpn review …`: `start [--hub NAME] [--due DURATION]`, `status`,
 * `report [ID]`, `keep <peer>` and `revoke <peer>`. Tokens come from the grammar's reader;
 * values are validated by the command schema afterwards.
 */
import { TunnelgateError } from '../core/errors.js';

/** A token as the grammar reads it (`quoted`: always a value, never an option). */
export interface ReviewToken {
  text: string;
  quoted: boolean;
}

const ACTIONS = ['start', 'status', 'report', 'keep', 'revoke'] as const;

function fail(message: string): never {
  throw new TunnelgateError('INPUT_INVALID', message);
}

const isOption = (t: ReviewToken) => !t.quoted && /^--?[A-Za-z]/.test(t.text);

/** The command input for `review` (throws INPUT_INVALID); `duration` parses and caps `--due`. */
export function parseReview(tokens: readonly ReviewToken[], duration: (text: string) => number) {
  const [first, ...rest] = tokens;
  const action = ACTIONS.find((a) => a === first?.text.toLowerCase());
  if (first === undefined || action === undefined)
    fail(`review needs an action: ${ACTIONS.join(', ')}, e.g. /vpn review status`);
  const options = new Map<string, string>();
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i] as ReviewToken;
    if (!isOption(token)) {
      positionals.push(token.text);
      continue;
    }
    const [name = '', inline] = token.text.split(/=(.*)/s);
    if (action !== 'start' || (name !== '--hub' && name !== '--due'))
      fail(
        `unknown option "${name}": ${action === 'start' ? 'review start takes --hub and --due' : `review ${action} takes no options`}`,
      );
    if (options.has(name)) fail(`${name} is given twice; give it once`);
    const next = rest[i + 1];
    if (inline === undefined && (next === undefined || isOption(next)))
      fail(`${name} needs a value: ${name} ${name === '--hub' ? 'NAME' : 'DURATION'}`);
    if (inline === undefined) i++;
    options.set(name, inline ?? next?.text ?? '');
  }
  const wanted = action === 'keep' || action === 'revoke' || action === 'report' ? 1 : 0;
  const [positional, extra] = positionals;
  if (extra !== undefined || (wanted === 0 && positional !== undefined))
    fail(
      `unexpected argument "${extra ?? positional}": review ${action} takes ${wanted === 0 ? 'no arguments' : 'one'}`,
    );
  if ((action === 'keep' || action === 'revoke') && positional === undefined)
    fail(`review ${action} needs a peer name, e.g. /vpn review ${action} alice-laptop`);
  const hub = options.get('--hub');
  const due = options.get('--due');
  return {
    verb: 'review' as const,
    action,
    ...(positional === undefined
      ? {}
      : action === 'report'
        ? { reviewId: positional }
        : { peer: positional }),
    ...(hub === undefined ? {} : { hub }),
    ...(due === undefined ? {} : { dueMs: duration(due) }),
  };
}
