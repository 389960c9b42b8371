/**
 * Lead approval for `tunnelgate hub bootstrap --apply`. Applying rewrites a hub's firewall, sshd
 * and sudoers, so one person asks (a pending request in Redis: the hub, the options and the list
 * of files that will change, plus a digest of the exact plan) and a different person, a lead,
 * approves; only the approval runs it. The approver's process renders the plan again and refuses
 * when it differs from what was asked (config or Tunnelgate changed in between), so a lead approves
 * exactly what runs. State moves pending -> approved -> applied | failed by compare-and-set, so
 * one request runs at most once.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { HubConfig, RolesConfig } from '../config/schema.js';
import { TunnelgateError } from '../core/errors.js';
import { UserId } from '../core/ids.js';
import { isLeadId } from '../domain/roles.js';
import { type BootstrapPlan, planDigest } from '../hub/bootstrap/bootstrap.js';
import type { AuditLog } from '../store/audit-log.js';

/** A pending request expires after this long (24 h). */
export const BOOTSTRAP_PENDING_MS = 24 * 3_600_000;
/** Finished requests stay readable this long (7 days). */
const KEEP_SECONDS = 7 * 24 * 3600;

/** The options a request was made with (the bot's public key is derived again at approval). */
export const BootstrapRequestOptions = z.object({
  sshFrom: z.array(z.string()).min(1),
  routing: z.boolean(),
  adminUser: z.string().optional(),
});
export type BootstrapRequestOptions = z.infer<typeof BootstrapRequestOptions>;

/** One bootstrap request as stored in Redis. */
export const BootstrapRequest = z.object({
  id: z.string().regex(/^bs-[0-9a-f]{8}$/),
  kind: z.literal('bootstrap'),
  hub: z.string(),
  requestedBy: UserId,
  requestedAt: z.iso.datetime(),
  pendingUntil: z.iso.datetime(),
  options: BootstrapRequestOptions,
  /** What will change: every path the bootstrap writes. */
  files: z.array(z.string()),
  /** sha256 of the plan text the requester saw. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  state: z.enum(['pending', 'approved', 'applied', 'failed']),
  approvedBy: UserId.optional(),
  finishedAt: z.iso.datetime().optional(),
  /** Why it failed (message only; stderr went to the log). */
  error: z.string().optional(),
});
export type BootstrapRequest = z.infer<typeof BootstrapRequest>;

/** Redis store of bootstrap requests under `<prefix>:bootstrap:<id>`. */
export class BootstrapRequests {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:bootstrap:${id}`;
  }

  /** Stores a new pending request for `plan`. */
  async create(
    plan: BootstrapPlan,
    options: BootstrapRequestOptions,
    requestedBy: string,
    now: Date,
  ): Promise<BootstrapRequest> {
    const request = BootstrapRequest.parse({
      id: `bs-${randomBytes(4).toString('hex')}`,
      kind: 'bootstrap',
      hub: plan.hub,
      requestedBy,
      requestedAt: now.toISOString(),
      pendingUntil: new Date(now.getTime() + BOOTSTRAP_PENDING_MS).toISOString(),
      options,
      files: [`~tunnelgate/.ssh/authorized_keys`, ...plan.files.map((f) => f.path)],
      digest: planDigest(plan),
      state: 'pending',
    });
    await this.redis.set(this.key(request.id), JSON.stringify(request), 'EX', KEEP_SECONDS, 'NX');
    return request;
  }

  /** The request, or NOT_FOUND. */
  async get(id: string): Promise<BootstrapRequest> {
    const raw = /^bs-[0-9a-f]{8}$/.test(id) ? await this.redis.get(this.key(id)) : null;
    if (raw === null)
      throw new TunnelgateError('NOT_FOUND', `no bootstrap request ${id}`, {
        hint: 'request one with `tunnelgate hub bootstrap <hub> --apply --as USER`',
      });
    return BootstrapRequest.parse(JSON.parse(raw));
  }

  /**
   * Moves the request from state `from` to the patched one, atomically (WATCH/MULTI). Throws
   * CONFLICT when it is no longer in `from`, e.g. another lead approved it first.
   */
  async transition(
    id: string,
    from: BootstrapRequest['state'],
    patch: Partial<z.input<typeof BootstrapRequest>>,
  ): Promise<BootstrapRequest> {
    const key = this.key(id);
    await this.redis.watch(key);
    try {
      const current = await this.get(id);
      if (current.state !== from)
        throw new TunnelgateError('CONFLICT', `bootstrap request ${id} is ${current.state}, not ${from}`);
      const next = BootstrapRequest.parse({ ...current, ...patch });
      const done = await this.redis.multi().set(key, JSON.stringify(next), 'KEEPTTL').exec();
      if (done === null)
        throw new TunnelgateError('CONFLICT', `bootstrap request ${id} changed meanwhile; try again`);
      return next;
    } finally {
      await this.redis.unwatch();
    }
  }
}

/**
 * Checks that `approver` may approve `request` for the freshly rendered `plan`: a lead, not the
 * requester, pending and not expired, same hub and same plan digest. Throws FORBIDDEN, CONFLICT
 * or CONFLICT (not pending, expired, or the plan changed).
 */
export function checkApproval(
  request: BootstrapRequest,
  approver: string,
  plan: BootstrapPlan,
  roles: RolesConfig,
  now: Date,
): void {
  if (!isLeadId(approver, roles))
    throw new TunnelgateError('FORBIDDEN', 'only leads can approve a hub bootstrap', {
      hint: 'ask a lead (roles.leads in tunnelgate.yaml) to approve it',
    });
  if (approver === request.requestedBy)
    throw new TunnelgateError('FORBIDDEN', 'you cannot approve your own bootstrap request', {
      hint: 'another lead has to approve it',
    });
  if (request.state !== 'pending')
    throw new TunnelgateError('CONFLICT', `bootstrap request ${request.id} is already ${request.state}`);
  if (now.getTime() >= Date.parse(request.pendingUntil))
    throw new TunnelgateError('CONFLICT', `bootstrap request ${request.id} expired`, {
      hint: 'request it again with --apply',
    });
  if (plan.hub !== request.hub || planDigest(plan) !== request.digest)
    throw new TunnelgateError(
      'CONFLICT',
      `the bootstrap of hub "${request.hub}" no longer matches request ${request.id}`,
      {
        hint: 'the config or Tunnelgate changed since it was requested; request it again with --apply',
      },
    );
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
