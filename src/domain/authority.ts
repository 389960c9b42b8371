/**
 * The worker's re-check of a job's authority, from the records and the config in force now (not
 * from what the bot believed when it queued the job): a lead demoted since, a peer that changed
 * owner, an expiry that was extended, all stop the job. Each check returns the problem in words,
 * or null when the job may run.
 */
import type { PolicyConfig, RolesConfig } from '../config/schema.js';
import { type Gate, gateState, verifyGate } from './gate.js';
import type { Actor } from './models/command.js';
import { type KeyChange, keyChangeSubject } from './models/key-change.js';
import type { PeerRecord } from './models/peer.js';
import type { Review } from './models/review.js';
import { answerProblem } from './review.js';
import { isLead } from './roles.js';
import type { Signer } from './signer.js';

/**
 * The system actor that offboards a member who left the Discord server, allowed to offboard only
 * while `policy.offboardOnLeave` says the operators decided so in advance.
 */
export const LEAVE_ACTOR_ID = 'discord-leave';

/** Why a peer is removed, and by whom (a user id, or the system cause for scheduled removals). */
export interface RemovalOrder {
  cause: 'revoke' | 'offboard' | 'expiry' | 'overdue' | 'incident' | 'review';
  by: string;
  /** The platform roles `by` held when asking (signed with the job). */
  byRoles?: readonly string[];
}

/**
 * May `order` remove `record`? A revoke needs the owner or a lead; an offboarding a lead; an
 * expiry a peer whose access really has ended; an overdue removal the revoke policy and a key
 * past its age plus grace; the end of an incident a time-bound peer whose request is break-glass
 * (`basis.breakGlass`, from the request record); a review removal the `basis.review` it names (see
 * {@link reviewProblem}). A peer already gone (`record` null) may always be cleaned up.
 */
export function removalProblem(
  order: RemovalOrder,
  record: PeerRecord | null,
  config: {
    roles: RolesConfig;
    policy: Pick<
      PolicyConfig,
      'overdueAction' | 'keyMaxAge' | 'overdueGrace' | 'offboardOnLeave' | 'reviewAction'
    >;
  },
  now: Date,
  basis: { breakGlass?: boolean; review?: Review | null } = {},
): string | null {
  if (record === null) return null;
  const actor: Actor = { id: order.by as Actor['id'], platformRoles: [...(order.byRoles ?? [])] };
  switch (order.cause) {
    case 'revoke':
      return order.by === record.owner || isLead(actor, config.roles)
        ? null
        : `${order.by} is neither the owner of ${record.peer} nor a lead`;
    case 'offboard':
      if (order.by === LEAVE_ACTOR_ID && config.policy.offboardOnLeave) return null;
      return isLead(actor, config.roles) ? null : `${order.by} is not a lead`;
    case 'expiry':
      return record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime()
        ? null
        : `${record.peer} has not expired (${record.expiresAt ?? 'permanent access'})`;
    case 'incident':
      return basis.breakGlass === true && record.expiresAt !== null
        ? null
        : `${record.peer} is not a break-glass peer`;
    case 'overdue': {
      const due = Date.parse(record.createdAt) + config.policy.keyMaxAge + config.policy.overdueGrace;
      if (config.policy.overdueAction !== 'revoke') return 'policy.overdueAction is not revoke';
      return due <= now.getTime() ? null : `the key of ${record.peer} is not overdue yet`;
    }
    case 'review':
      return reviewProblem(actor, record, basis.review ?? null, config, now);
    default: {
      const unreachable: never = order.cause;
      return unreachable;
    }
  }
}

/**
 * A review removes a peer only as the review says: its reviewer answered revoke (and may still
 * answer for it), or nobody answered by the due date and `policy.reviewAction` is revoke. A peer
 * its reviewer confirmed, or one that changed owner since the review started, is never removed.
 */
function reviewProblem(
  actor: Actor,
  record: PeerRecord,
  review: Review | null,
  config: { roles: RolesConfig; policy: Pick<PolicyConfig, 'reviewAction'> },
  now: Date,
): string | null {
  if (review === null) return `there is no review behind the removal of ${record.peer}`;
  const item = review.items.find((i) => i.hub === record.hub && i.requestId === record.requestId);
  if (item === undefined) return `${record.peer} is not in review ${review.id}`;
  if (item.owner !== record.owner) return `${record.peer} changed owner since review ${review.id} started`;
  const decision = item.decision;
  if (decision?.verdict === 'keep') return `${decision.by} confirmed ${record.peer} in review ${review.id}`;
  if (decision?.verdict === 'revoke') {
    if (decision.by !== actor.id) return `${actor.id} did not answer revoke for ${record.peer}`;
    return answerProblem(item, actor, config.roles);
  }
  if (review.state !== 'closed' || Date.parse(review.dueAt) > now.getTime())
    return `review ${review.id} is not past its due date`;
  return config.policy.reviewAction === 'revoke' ? null : 'policy.reviewAction is not revoke';
}

/** May `actor` act on `record` as its owner would (rotate, extend)? The owner or a lead. */
export function ownerOrLeadProblem(
  by: string,
  byRoles: readonly string[],
  record: PeerRecord,
  roles: RolesConfig,
): string | null {
  const actor: Actor = { id: by as Actor['id'], platformRoles: [...byRoles] };
  return by === record.owner || isLead(actor, roles)
    ? null
    : `${by} is neither the owner of ${record.peer} nor a lead`;
}

/** The facts of a rotation that its authority depends on (see store/rotations.ts). */
export interface RotationOrder {
  hub: string;
  peer: string;
  owner: string;
  by: string;
  byRoles: readonly string[];
  oldPublicKey: string;
  newPublicKey: string;
  generatedKey: boolean;
  approval?: { id: string; gate: Gate } | undefined;
}

/**
 * May this rotation put its new key on the hub? The asker must be the owner or a lead now; a key
 * the bot did not generate and the owner did not bring needs a key change that passed the gate
 * for exactly this peer, these keys and this asker, with the mode's number of leads.
 */
export function rotationProblem(
  order: RotationOrder,
  record: PeerRecord,
  config: { roles: RolesConfig; policy: Pick<PolicyConfig, 'approvals'> },
  signer: Signer,
): string | null {
  const who = ownerOrLeadProblem(order.by, order.byRoles, record, config.roles);
  if (who !== null) return who;
  if (order.generatedKey || order.by === record.owner) return null;
  if (order.approval === undefined) return `a key supplied by ${order.by} was not approved by the leads`;
  const { id, gate } = order.approval;
  if (!gate.excluded.includes(order.by as Gate['excluded'][number]))
    return `key change ${id} does not exclude its asker`;
  const needed = config.policy.approvals[record.mode];
  if (gate.required < needed)
    return `key change ${id} asks for ${gate.required} approvals where ${needed} are needed`;
  const digest = keyChangeSubject({
    id: id as KeyChange['id'],
    hub: order.hub as KeyChange['hub'],
    peer: order.peer as KeyChange['peer'],
    owner: order.owner as KeyChange['owner'],
    asker: order.by as KeyChange['asker'],
    oldPublicKey: order.oldPublicKey as KeyChange['oldPublicKey'],
    newPublicKey: order.newPublicKey as KeyChange['newPublicKey'],
  });
  if (gateState(gate, new Date(0)) !== 'approved') return `key change ${id} is not approved`;
  return verifyGate(gate, { id, what: 'key change', digest }, config.roles, signer);
}
