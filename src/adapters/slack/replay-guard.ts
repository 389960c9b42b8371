/**
 * Replay protection for HTTP mode. Bolt verifies each request's signature and refuses timestamps
 * older than five minutes, but remembers nothing: a captured request could be sent again within
 * that window. This guard records every accepted signature (Redis `SET NX` with an expiry covering
 * the window) and drops a request whose signature was seen before, before any listener runs.
 *
 * Bolt splits `x-slack-signature` on `=` and ignores anything after the hash, so `v0=<hex>=x`
 * verifies too: the guard accepts only the canonical form `v0=` + 64 lowercase hex digits and keys
 * the record on that, so no spelling of one signature runs twice. Bolt also accepts timestamps in
 * the future; the guard refuses those more than {@link FUTURE_SEC} ahead (a request signed ahead of
 * time could otherwise be held and replayed after its record expired).
 *
 * A dropped request is answered `200` with an empty body (acknowledged and ignored): Slack shows
 * nothing, a replayer learns nothing, and nothing is enqueued. Socket Mode envelopes carry no
 * signature and pass through (they arrive over an authenticated WebSocket).
 */
import type { AnyMiddlewareArgs, BufferedIncomingMessage, Middleware } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { SlackKeys } from './keys.js';

/** Context keys the receiver adds for the guard (must not clash with Bolt's built-in keys). */
export const SIGNATURE_KEY = 'tunnelgateSignature';
export const TIMESTAMP_KEY = 'tunnelgateTimestamp';

/** Slack's replay window: Bolt refuses requests older than this. */
const WINDOW_SEC = 300;
/** Extra time a signature is remembered, covering clock skew between Slack and this host. */
const SKEW_SEC = 60;
/** How far in the future a request's timestamp may lie (clock skew) before it is refused. */
export const FUTURE_SEC = 60;

const CANONICAL_SIGNATURE = /^v0=[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,12}$/;

/** For `HTTPReceiver`'s `customPropertiesExtractor`: lifts the signature headers into the context. */
export function extractSignature(request: BufferedIncomingMessage): Record<string, string> {
  const signature = request.headers['x-slack-signature'];
  const timestamp = request.headers['x-slack-request-timestamp'];
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return {};
  return { [SIGNATURE_KEY]: signature, [TIMESTAMP_KEY]: timestamp };
}

/** How long to remember a signature: until its timestamp leaves the window, plus skew. */
export function rememberForSec(timestampSec: number, nowSec: number): number {
  const left = Number.isFinite(timestampSec) ? timestampSec + WINDOW_SEC - nowSec : WINDOW_SEC;
  return Math.max(1, Math.ceil(left)) + SKEW_SEC;
}

/**
 * Why a signed request must not run even though Bolt verified it: a signature in any but the
 * canonical form, or a timestamp that is malformed or more than {@link FUTURE_SEC} ahead of `nowSec`.
 * Undefined when it may run (once).
 */
export function refusal(signature: string, timestamp: string, nowSec: number): string | undefined {
  if (!CANONICAL_SIGNATURE.test(signature)) return 'non-canonical signature';
  if (!TIMESTAMP.test(timestamp)) return 'malformed timestamp';
  if (Number(timestamp) > nowSec + FUTURE_SEC) return 'timestamp in the future';
  return undefined;
}

/** Global Bolt middleware that lets each signed request through once. */
export function replayGuard(
  redis: Redis,
  keys: SlackKeys,
  logger: Logger,
  now: () => Date,
): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const signature = args.context[SIGNATURE_KEY];
    if (typeof signature !== 'string') {
      await args.next();
      return;
    }
    const timestamp = String(args.context[TIMESTAMP_KEY]);
    const nowSec = now().getTime() / 1000;
    const refused = refusal(signature, timestamp, nowSec);
    if (refused === undefined) {
      const ttl = rememberForSec(Number(timestamp), nowSec);
      const first = await redis.set(keys.seen(signature), '1', 'EX', ttl, 'NX');
      if (first === 'OK') {
        await args.next();
        return;
      }
      logger.warn({ signature: signature.slice(0, 16) }, 'slack: dropped a replayed request');
    } else {
      logger.warn({ reason: refused, timestamp }, 'slack: dropped a signed request');
    }
    if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
  };
}
