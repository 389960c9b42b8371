/**
 * Incoming provider webhooks, checked before anything in them is believed. PagerDuty v3 signs the
 * raw body: `X-PagerDuty-Signature: v1=<hex hmac-sha256>[,v1=<…>]` (several while a secret
 * rotates). Opsgenie sends the custom header its webhook integration was configured with.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** The header Opsgenie's webhook integration is configured to send (its value: the secret). */
export const OPSGENIE_TOKEN_HEADER = 'x-tunnelgate-token';

/** True when one of the header's `v1=` signatures is the HMAC-SHA256 of `raw` under `secret`. */
export function pagerDutySignatureValid(raw: Buffer, header: string | undefined, secret: string): boolean {
  if (header === undefined || secret === '') return false;
  const expected = createHmac('sha256', secret).update(raw).digest();
  return header.split(',').some((part) => {
    const match = /^v1=([0-9a-f]{64})$/.exec(part.trim());
    return match?.[1] !== undefined && timingSafeEqual(Buffer.from(match[1], 'hex'), expected);
  });
}

/** True when `given` is the configured token (constant-time). */
export function tokenValid(given: string | undefined, secret: string): boolean {
  if (given === undefined || secret === '') return false;
  const [a, b] = [Buffer.from(given), Buffer.from(secret)];
  return a.length === b.length && timingSafeEqual(a, b);
}

const PagerDutyEvent = z.object({
  event: z.object({
    id: z.string().min(1).max(128),
    event_type: z.string(),
    resource_type: z.string(),
    occurred_at: z.iso.datetime({ offset: true }),
    data: z.object({ id: z.string().min(1).max(64), status: z.string().optional() }).loose(),
  }),
});

/** A PagerDuty event, as far as break-glass cares. */
export interface IncidentEvent {
  /** The event's id, for replay protection. */
  id: string;
  occurredAt: string;
  incidentId: string;
  /** True when the incident is over (resolved). */
  ended: boolean;
}

/** The event in a verified body, or null when it is not a PagerDuty v3 event. */
export function parsePagerDutyEvent(raw: Buffer): IncidentEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    return null;
  }
  const parsed = PagerDutyEvent.safeParse(json);
  if (!parsed.success) return null;
  const { event } = parsed.data;
  if (event.resource_type !== 'incident') return null;
  return {
    id: event.id,
    occurredAt: event.occurred_at,
    incidentId: event.data.id,
    ended: event.event_type === 'incident.resolved' || event.data.status === 'resolved',
  };
}
