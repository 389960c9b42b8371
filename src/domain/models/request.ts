/**
 * An access request and its lifecycle, as stored in Redis (`<prefix>:req:<id>`). The record holds
 * public material only: a generated private key is sealed separately (see `bot/key-vault.ts`).
 */
import { z } from 'zod';
import { SerializedError } from '../../core/errors.js';
import { DeviceName, HubName, PeerName, RequestId, UserId } from '../../core/ids.js';
import { PublicKey } from '../../wg/keys.js';
import { Gate } from '../gate.js';
import { BreakGlassInfo } from './break-glass.js';

/**
 * pending -> approved -> provisioning -> provisioned -> revoked
 * pending -> denied | expired;  approved/provisioning -> failed (a lead may re-approve to retry)
 */
export const RequestState = z.enum([
  'pending',
  'approved',
  'provisioning',
  'provisioned',
  'failed',
  'denied',
  'expired',
  'revoked',
]);
export type RequestState = z.infer<typeof RequestState>;

export const TunnelMode = z.enum(['split', 'full']);
export type TunnelMode = z.infer<typeof TunnelMode>;

export const HistoryEntry = z.object({
  at: z.string(),
  by: z.string(),
  event: z.string(),
  detail: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const AccessRequest = z.object({
  id: RequestId,
  requester: UserId,
  device: DeviceName,
  peer: PeerName,
  hub: HubName,
  mode: TunnelMode,
  publicKey: PublicKey,
  /** True when the bot generated the key pair and must deliver the private key. */
  generatedKey: z.boolean(),
  reason: z.string().optional(),
  /** Time-bound access, milliseconds from provisioning. */
  forMs: z.number().int().positive().optional(),
  state: RequestState,
  /** The approval gate: leads decide, never the requester. */
  gate: Gate,
  /** Tunnel address(es) once allocated, e.g. `10.6.0.7/32`. */
  address: z.string().optional(),
  address6: z.string().optional(),
  createdAt: z.string(),
  provisionedAt: z.string().optional(),
  /** When a time-bound peer is removed (ISO). */
  expiresAt: z.string().optional(),
  error: SerializedError.optional(),
  /** Set on a break-glass grant: given at once for an open incident, no approvers. */
  breakGlass: BreakGlassInfo.optional(),
  history: z.array(HistoryEntry),
});
export type AccessRequest = z.infer<typeof AccessRequest>;

/** States after which nothing more happens to a request. */
export const FINAL_STATES: ReadonlySet<RequestState> = new Set(['denied', 'expired', 'revoked']);

/**
 * States whose requests are pruned after `policy.keepFinished`: the final states, and `failed`
 * (a lead may still retry it, but not after that long).
 */
export const PRUNABLE_STATES: ReadonlySet<RequestState> = new Set(['denied', 'expired', 'revoked', 'failed']);

/** When the request reached its current state: its last history entry, else its creation. Pure. */
export function settledAt(request: AccessRequest): Date {
  return new Date(request.history.at(-1)?.at ?? request.createdAt);
}

/** True when the request is in a prunable state and settled before `cutoff`. Pure. */
export function prunable(request: AccessRequest, cutoff: Date): boolean {
  const settled = settledAt(request).getTime();
  return PRUNABLE_STATES.has(request.state) && Number.isFinite(settled) && settled < cutoff.getTime();
}
