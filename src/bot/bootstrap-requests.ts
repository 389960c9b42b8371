/**
 * Lead approval for `tunnelgate hub bootstrap --apply`. Applying rewrites a hub's firewall, sshd
 * and sudoers, so one person asks (a pending request in Redis: the hub, the options and the list
 * of files that will change, with a gate bound to a digest of the exact plan) and a different
 * person, a lead, approves through the one approval gate (domain/gate.ts); only the approval runs
 * it. The approver's process renders the plan again and refuses when it differs from what was
 * asked (config or Tunnelgate changed in between), so a lead approves exactly what runs, and the
 * gate is verified (MACs, distinct deciders, still leads) right before it runs. State moves
 * pending -> approved -> applied | failed by compare-and-set, so one request runs at most once.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { HubConfig, RolesConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { BootstrapId, newId, UserId } from '../core/ids.js';
import { decide, Gate, openGate, subjectDigest, verifyGate } from '../domain/gate.js';
import type { Actor } from '../domain/models/command.js';
import type { Signer } from '../domain/signer.js';
import { type BootstrapPlan, planDigest } from '../hub/bootstrap/bootstrap.js';
import type { AuditLog } from '../store/audit-log.js';
import { JsonRecords } from '../store/json-record.js';
import type { RedisKeys } from '../store/keys.js';

/** A pending request expires after this long (24 h). */
export const BOOTSTRAP_PENDING_MS = 24 * 3_600_000;
/** Requests stay readable this long after they were asked for (7 days). */
const KEEP_SECONDS = 7 * 24 * 3600;
const WHAT = 'bootstrap request';

/** The options a request was made with (the bot's public key is derived again at approval). */
export const BootstrapRequestOptions = z.object({
  sshFrom: z.array(z.string()).min(1),
  routing: z.boolean(),
  adminUser: z.string().optional(),
});
export type BootstrapRequestOptions = z.infer<typeof BootstrapRequestOptions>;

/** One bootstrap request as stored in Redis. */
export const BootstrapRequest = z.object({
  id: BootstrapId,
  kind: z.literal('bootstrap'),
  hub: z.string(),
  requestedBy: UserId,
  requestedAt: z.iso.datetime(),
  options: BootstrapRequestOptions,
  /** What will change: every path the bootstrap writes. */
  files: z.array(z.string()),
  /** One lead other than the requester, bound to the hub and the plan's digest, until 24 h on. */
  gate: Gate,
  state: z.enum(['pending', 'approved', 'applied', 'failed']),
  finishedAt: z.iso.datetime().optional(),
  /** Why it failed (message only; stderr went to the log). */
  error: z.string().optional(),
});
export type BootstrapRequest = z.infer<typeof BootstrapRequest>;

/** What a bootstrap gate decides on: this hub, this exact plan. */
function planSubject(plan: BootstrapPlan): string {
  return subjectDigest({ hub: plan.hub, plan: planDigest(plan) });
}

/** Redis store of bootstrap requests (keys from {@link RedisKeys.bootstrap}). */
export class BootstrapRequests {
  private readonly records: JsonRecords<typeof BootstrapRequest>;

  constructor(
    redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.records = new JsonRecords(redis, BootstrapRequest, WHAT);
  }

  /** Stores a new pending request for `plan`. */
  async create(
    plan: BootstrapPlan,
    options: BootstrapRequestOptions,
    requestedBy: string,
    now: Date,
  ): Promise<BootstrapRequest> {
    const request = BootstrapRequest.parse({
      id: newId('b'),
      kind: 'bootstrap',
      hub: plan.hub,
      requestedBy,
      requestedAt: now.toISOString(),
      options,
      files: ['~tunnelgate/.ssh/authorized_keys', ...plan.files.map((f) => f.path)],
      gate: openGate({
        required: 1,
        excluded: [UserId.parse(requestedBy)],
        subject: planSubject(plan),
        until: new Date(now.getTime() + BOOTSTRAP_PENDING_MS).toISOString(),
      }),
      state: 'pending',
    });
    if (!(await this.records.create(this.keys.bootstrap(request.id), request, KEEP_SECONDS)))
      throw new TunnelgateError('CONFLICT', `bootstrap request id ${request.id} is already taken; try again`);
    return request;
  }

  /** The request, or NOT_FOUND. */
  async get(id: string): Promise<BootstrapRequest> {
    const found = BootstrapId.safeParse(id).success ? await this.records.get(this.keys.bootstrap(id)) : null;
    if (found === null)
      throw new TunnelgateError('NOT_FOUND', `no bootstrap request ${id}`, {
        hint: 'request one with `tunnelgate hub bootstrap <hub> --apply --as USER`',
      });
    return found;
  }

  /**
   * Records `input.actor`'s approval through the gate, for the freshly rendered `plan`, and moves
   * the request to approved, atomically. Throws FORBIDDEN (not a lead, or the requester) or
   * CONFLICT (not pending, expired, or the plan changed since it was asked for).
   */
  async approve(
    id: string,
    plan: BootstrapPlan,
    input: { actor: Actor; roles: RolesConfig; now: Date; signer: Signer },
  ): Promise<BootstrapRequest> {
    const outcome = await this.records.update(this.keys.bootstrap(id), (current) => {
      if (current.state !== 'pending')
        throw new TunnelgateError('CONFLICT', `bootstrap request ${id} is already ${current.state}`);
      const decided = decide(current.gate, { id, what: WHAT }, { ...input, decision: 'approve' });
      if (!decided.ok) throw decided.error;
      if (plan.hub !== current.hub || planSubject(plan) !== current.gate.subject)
        throw new TunnelgateError(
          'CONFLICT',
          `the bootstrap of hub "${current.hub}" no longer matches request ${id}`,
          { hint: 'the config or Tunnelgate changed since it was requested; request it again with --apply' },
        );
      const approved = decided.outcome === 'approved';
      return { write: { ...current, gate: decided.gate, state: approved ? 'approved' : 'pending' } };
    });
    if (outcome.status === 'missing') return this.get(id);
    return outcome.value;
  }

  /** Ends an approved request as applied or failed (compare-and-set: it runs at most once). */
  async finish(id: string, result: { at: Date; error?: string }): Promise<BootstrapRequest> {
    const outcome = await this.records.update(this.keys.bootstrap(id), (current) => {
      if (current.state !== 'approved')
        throw new TunnelgateError('CONFLICT', `bootstrap request ${id} is ${current.state}, not approved`);
      const done = { ...current, finishedAt: result.at.toISOString() };
      return {
        write:
          result.error === undefined
            ? { ...done, state: 'applied' }
            : { ...done, state: 'failed', error: result.error },
      };
    });
    if (outcome.status === 'missing') return this.get(id);
    return outcome.value;
  }
}

/**
 * The re-check right before the bootstrap runs: the request is approved, for exactly `plan`, by a
 * gate whose decisions carry valid MACs from leads of the current config. Throws CONFLICT.
 */
export function verifyBootstrap(
  request: BootstrapRequest,
  plan: BootstrapPlan,
  roles: RolesConfig,
  signer: Signer,
): void {
  const problem =
    request.state !== 'approved'
      ? `it is ${request.state}`
      : verifyGate(request.gate, { id: request.id, what: WHAT, digest: planSubject(plan) }, roles, signer);
  if (problem !== null)
    throw new TunnelgateError('CONFLICT', `bootstrap request ${request.id} cannot run: ${problem}`, {
      hint: 'request it again with --apply',
    });
}

/** Audit detail of a request: the hub and what changes, short. */
export function auditDetail(request: BootstrapRequest): string {
  return `bootstrap ${request.hub}: ${request.files.length} files, ssh from ${request.options.sshFrom.join(' ')}${request.options.routing ? ', routing' : ''}`.slice(
    0,
    500,
  );
}

/** Records one step of the flow in the audit log. */
export function auditBootstrap(
  audit: AuditLog,
  actor: string,
  hub: HubConfig,
  request: BootstrapRequest,
  result: 'pending' | 'ok' | 'failed' | 'refused',
  detail?: string,
) {
  return audit.append({
    actor,
    action: 'bootstrap',
    hub: hub.name,
    target: request.id,
    result,
    detail: detail ?? auditDetail(request),
  });
}
