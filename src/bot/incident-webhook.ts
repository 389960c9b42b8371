/**
 * The on-call provider's webhook, ending break-glass grants when their incident resolves. Nothing
 * in a request is believed before it is authenticated: PagerDuty's v3 signature over the raw body
 * (then each event id counts once, and events older than {@link REPLAY_WINDOW_MS} are refused), or
 * Opsgenie's configured token (its body is not trusted at all: a valid call makes Tunnelgate ask
 * the API about every open Opsgenie grant, so a replay can only cause a harmless re-check).
 */
import type { PeerRecord } from '../domain/models/peer.js';
import type { ProviderName } from '../oncall/provider.js';
import {
  OPSGENIE_TOKEN_HEADER,
  pagerDutySignatureValid,
  parsePagerDutyEvent,
  tokenValid,
} from '../oncall/webhooks.js';
import type { Grant } from '../store/break-glass.js';
import type { BotContext } from './context.js';

/** An event older than this is refused as a possible replay (its id is remembered this long too). */
export const REPLAY_WINDOW_MS = 60 * 60_000;

/** What the HTTP endpoint received. */
export interface WebhookCall {
  provider: ProviderName;
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  body: Buffer;
}

/** The HTTP answer. */
export interface WebhookAnswer {
  status: number;
  text: string;
}

/** Handles one webhook call with the configured secret (never throws for bad input). */
export async function handleIncidentWebhook(
  ctx: BotContext,
  secret: string,
  call: WebhookCall,
): Promise<WebhookAnswer> {
  const configured = ctx.config.oncall?.provider;
  if (configured !== call.provider)
    return { status: 404, text: `${call.provider} is not the on-call provider` };
  if (call.provider === 'opsgenie') {
    if (!tokenValid(call.headers[OPSGENIE_TOKEN_HEADER], secret)) return refused(ctx, call, 'bad token');
    return { status: 202, text: `re-checked ${await recheckOpsgenie(ctx)} grant(s)` };
  }
  if (!pagerDutySignatureValid(call.body, call.headers['x-pagerduty-signature'], secret)) {
    return refused(ctx, call, 'bad signature');
  }
  const event = parsePagerDutyEvent(call.body);
  if (event === null) return { status: 202, text: 'not an incident event: ignored' };
  const age = ctx.clock().getTime() - Date.parse(event.occurredAt);
  if (age > REPLAY_WINDOW_MS) return refused(ctx, call, `event ${event.id} is too old`, 409);
  if (!(await ctx.breakGlass.firstSight('pagerduty', event.id, Math.ceil((2 * REPLAY_WINDOW_MS) / 1000)))) {
    return { status: 200, text: `event ${event.id} was already handled` };
  }
  if (!event.ended) return { status: 202, text: 'incident still open: nothing to end' };
  const grants = await ctx.breakGlass.forIncident('pagerduty', event.incidentId);
  for (const grant of grants) await endGrant(ctx, grant, 'pagerduty-webhook');
  return { status: 202, text: `ending ${grants.length} break-glass grant(s)` };
}

async function refused(
  ctx: BotContext,
  call: WebhookCall,
  why: string,
  status = 401,
): Promise<WebhookAnswer> {
  ctx.logger.warn({ provider: call.provider, why }, 'refused an incident webhook');
  await ctx.audit.append({
    at: ctx.clock().toISOString(),
    actor: `${call.provider}-webhook`,
    action: 'webhook',
    result: 'refused',
    detail: why,
  });
  return { status, text: `refused: ${why}` };
}

/** Asks Opsgenie about every active Opsgenie grant's incident; ends those no longer open. */
async function recheckOpsgenie(ctx: BotContext): Promise<number> {
  const grants = (await ctx.breakGlass.all()).filter((g) => g.provider === 'opsgenie');
  for (const grant of grants) {
    const incident = await ctx.oncall?.provider.incident(grant.incidentId).catch(() => undefined);
    // A provider failure changes nothing: the deadline and the next poll still apply.
    if (incident === undefined) continue;
    if (incident === null || !incident.open) await endGrant(ctx, grant, 'opsgenie-webhook');
  }
  return grants.length;
}

/** Queues the removal of a grant's peer (cause `incident`); a grant not yet live just ends. */
async function endGrant(ctx: BotContext, grant: Grant, by: string): Promise<void> {
  const record: PeerRecord | null = await ctx.inventory.findByRequest(grant.hub, grant.requestId);
  if (record === null) {
    await ctx.breakGlass.end(grant.requestId);
    return;
  }
  await ctx.queues.addHub(
    {
      kind: 'revoke',
      hub: record.hub,
      publicKey: record.publicKey,
      peer: record.peer,
      by,
      byRoles: [],
      cause: 'incident',
      requestId: record.requestId,
    },
    { jobId: `revoke-${record.hub}-${record.requestId}` },
  );
}
