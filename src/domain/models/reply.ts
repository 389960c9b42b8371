/**
 * The platform-neutral reply model: what the bot says, to whom. Adapters render a {@link Reply} by
 * its `kind` (Block Kit, embeds, terminal text or JSON); `bot/render-text.ts` is the plain-text
 * rendering every adapter can fall back to. Kinds are stable: the shell's `--json` output uses them.
 */
import { z } from 'zod';
import { SerializedError } from '../../core/errors.js';
import { ExtensionId, HubName, PeerName, RequestId, ReviewId, UserId } from '../../core/ids.js';
import { BreakGlassInfo } from './break-glass.js';
import { AuditReport, DiagnoseReport, Finding, FindingId } from './diagnosis.js';
import { AccessRequest, RequestState, TunnelMode } from './request.js';
import { ReviewItem } from './review.js';

/**
 * What the last reconcile of a hub found that Tunnelgate does not manage, kept in Redis and shown
 * before approval, so a lead approving on a drifted hub knows it.
 */
export const HubDrift = z.object({
  hub: HubName,
  /** When that reconcile ran (ISO). */
  at: z.string(),
  /** Short keys of peers not made by Tunnelgate, live and/or in the config file. */
  foreign: z.array(z.string()),
  /** Overlapping AllowedIPs, one line each naming both holders. */
  overlaps: z.array(z.string()),
});
export type HubDrift = z.infer<typeof HubDrift>;

/** Exactly what provisioning a request will change, shown to approvers before they approve. */
export const ChangePreview = z.object({
  hub: HubName,
  peer: PeerName,
  mode: TunnelMode,
  /** The address that will be allocated (next free now; final at provisioning). */
  address: z.string(),
  /** AllowedIPs the hub gives this peer. */
  hubAllowedIps: z.array(z.string()),
  /** AllowedIPs in the client's config. */
  clientAllowedIps: z.array(z.string()),
  endpoint: z.string(),
  /** Time-bound access in ms, absent for permanent access. */
  forMs: z.number().int().positive().optional(),
  approvalsRequired: z.number().int().min(1),
  /** Set when the hub's last reconcile found foreign peers or overlaps. */
  drift: HubDrift.optional(),
});
export type ChangePreview = z.infer<typeof ChangePreview>;

/** One peer as listed to users. */
export const PeerView = z.object({
  peer: PeerName,
  hub: HubName,
  owner: UserId,
  address: z.string(),
  mode: TunnelMode,
  publicKey: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  /** Seconds since the latest handshake; null = never or unknown. */
  handshakeAgeSec: z.number().nullable(),
  rxBytes: z.number().nullable(),
  txBytes: z.number().nullable(),
  /** False when the hub could not be read; live fields are then null. */
  live: z.boolean(),
  /** A key rotation not done yet (`/vpn status` only): its state and the key it moves to. */
  rotation: z
    .object({
      state: z.enum(['staging', 'staged', 'moved']),
      newPublicKey: z.string(),
      startedAt: z.string(),
      /** When an unproven new key is rolled back; unset until the key is staged. */
      deadline: z.string().optional(),
    })
    .optional(),
});
export type PeerView = z.infer<typeof PeerView>;

export const AuditEntryView = z.object({
  seq: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  hub: z.string().optional(),
  target: z.string().optional(),
  result: z.string(),
  detail: z.string().optional(),
});
export type AuditEntryView = z.infer<typeof AuditEntryView>;

/** Where an audit chain breaks: the entry (stream id, its time) and why. */
export const AuditBreakView = z.object({ seq: z.string(), at: z.string().optional(), reason: z.string() });
export type AuditBreakView = z.infer<typeof AuditBreakView>;

/** Where a peer was seen on a hub: the live interface, the config file, or both. */
export const PeerPlace = z.enum(['live', 'file', 'both']);
export type PeerPlace = z.infer<typeof PeerPlace>;

/**
 * One difference between a hub and the inventory, found by reconcile. A `foreign` finding is a
 * peer Tunnelgate did not make (its facts in `foreign`); an `overlap` names both holders.
 */
export const DriftFinding = z.object({
  type: z.enum(['foreign', 'missing-live', 'missing-file', 'restored', 'overlap']),
  publicKey: z.string(),
  peer: z.string().optional(),
  detail: z.string(),
  foreign: z
    .object({
      shortKey: z.string(),
      allowedIps: z.array(z.string()),
      endpoint: z.string().nullable(),
      /** Latest handshake (ISO); null when never or not live. */
      latestHandshake: z.string().nullable(),
      where: PeerPlace,
    })
    .optional(),
  /** The two holders (peer name, or short key of a foreign peer) and their overlapping blocks. */
  overlap: z.object({ a: z.string(), cidrA: z.string(), b: z.string(), cidrB: z.string() }).optional(),
});
export type DriftFinding = z.infer<typeof DriftFinding>;

/** One peer put under management by `/vpn adopt` or `tunnelgate hub adopt`. */
export const AdoptedPeer = z.object({
  peer: PeerName,
  owner: UserId,
  publicKey: z.string(),
  address: z.string(),
  allowedIps: z.array(z.string()),
  /** Where the peer was: a live-only peer gets a new section in the config file. */
  where: PeerPlace,
});
export type AdoptedPeer = z.infer<typeof AdoptedPeer>;

export const Reply = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('help'), text: z.string() }),
  z.object({ kind: z.literal('notice'), text: z.string() }),
  z.object({
    kind: z.literal('error'),
    code: z.string(),
    message: z.string(),
    hint: z.string().optional(),
    usage: z.string().optional(),
  }),
  z.object({ kind: z.literal('request.pending'), request: AccessRequest, preview: ChangePreview }),
  /** To leads: a request awaiting their decision, with what it will change. */
  z.object({ kind: z.literal('request.review'), request: AccessRequest, preview: ChangePreview }),
  z.object({
    kind: z.literal('request.approved'),
    requestId: RequestId,
    by: UserId,
    approvals: z.array(UserId),
    required: z.number().int(),
    /** True once enough approvals are in and provisioning was queued. */
    queued: z.boolean(),
  }),
  z.object({
    kind: z.literal('request.denied'),
    requestId: RequestId,
    by: UserId,
    reason: z.string().optional(),
  }),
  z.object({ kind: z.literal('request.expired'), requestId: RequestId, peer: PeerName }),
  z.object({ kind: z.literal('request.state'), requestId: RequestId, state: RequestState, text: z.string() }),
  z.object({
    kind: z.literal('peer.provisioned'),
    requestId: RequestId,
    peer: PeerName,
    hub: HubName,
    address: z.string(),
    owner: UserId,
    /** The hub interface's public key, for the client config. */
    hubPublicKey: z.string(),
    expiresAt: z.string().optional(),
  }),
  /** Private, to the owner only; never stored or queued (it may hold a private key). */
  z.object({
    kind: z.literal('peer.config'),
    requestId: RequestId,
    peer: PeerName,
    hub: HubName,
    configText: z.string(),
    /** The config as a terminal QR code (text) and as PNG bytes (base64) for chat. */
    qrTerminal: z.string(),
    qrPngBase64: z.string(),
    /** True when the owner supplied --pubkey: configText has a placeholder for their key. */
    ownKey: z.boolean(),
  }),
  z.object({
    kind: z.literal('peer.failed'),
    requestId: RequestId.optional(),
    peer: PeerName,
    hub: HubName,
    action: z.string(),
    error: SerializedError,
  }),
  z.object({
    kind: z.literal('peer.revoked'),
    peer: PeerName,
    hub: HubName,
    by: z.string(),
    cause: z.enum(['revoke', 'offboard', 'expiry', 'overdue', 'incident', 'review']),
  }),
  /** To leads at once: someone took break-glass access; `/vpn revoke <peer>` ends it now. */
  z.object({
    kind: z.literal('breakglass.granted'),
    requestId: RequestId,
    user: UserId,
    hub: HubName,
    peer: PeerName,
    mode: TunnelMode,
    incident: BreakGlassInfo.shape.incident,
    basis: BreakGlassInfo.shape.basis,
    forMs: z.number(),
    reason: z.string().optional(),
  }),
  /** To leads when a break-glass grant ended: who, where, when, why, and what the peer did. */
  z.object({
    kind: z.literal('breakglass.ended'),
    requestId: RequestId,
    user: UserId,
    hub: HubName,
    peer: PeerName,
    incident: BreakGlassInfo.shape.incident,
    from: z.string(),
    to: z.string(),
    /** What ended it: the deadline, the incident resolving, or someone revoking it. */
    cause: z.string(),
    /** The peer's latest handshake during the grant (ISO), null when it never connected. */
    latestHandshake: z.string().nullable(),
    rxBytes: z.number().nullable(),
    txBytes: z.number().nullable(),
  }),
  z.object({
    kind: z.literal('peer.list'),
    scope: z.string(),
    peers: z.array(PeerView),
    pending: z.array(AccessRequest),
  }),
  z.object({ kind: z.literal('peer.status'), peers: z.array(PeerView) }),
  z.object({
    kind: z.literal('audit.log'),
    entries: z.array(AuditEntryView),
    chainIntact: z.boolean(),
    /** The link where the chain stops verifying. */
    broken: AuditBreakView.optional(),
    /** The stored verification checkpoint did not verify (forged?), so the whole chain was checked. */
    checkpointRefused: z.boolean().optional(),
  }),
  z.object({
    kind: z.literal('reconcile.report'),
    hub: HubName,
    inSync: z.boolean(),
    findings: z.array(DriftFinding),
  }),
  /** Peers adopted on a hub, or (`dryRun`) what adopting would change. */
  z.object({
    kind: z.literal('adopt.report'),
    hub: HubName,
    dryRun: z.boolean(),
    peers: z.array(AdoptedPeer),
  }),
  z.object({ kind: z.literal('job.queued'), jobId: z.string(), text: z.string() }),
  /** `/vpn diagnose`: the playbook's five steps with verdicts, evidence and findings. */
  z.object({ kind: z.literal('diagnose.report'), report: DiagnoseReport }),
  /** `/vpn audit`: the hardening findings and the checks that passed. */
  z.object({ kind: z.literal('audit.report'), report: AuditReport }),
  /** A proposed `/vpn fix`, showing what it will change; `review` marks the copy asking leads. */
  z.object({
    kind: z.literal('fix.pending'),
    hub: HubName,
    finding: Finding,
    proposedBy: UserId,
    review: z.boolean(),
  }),
  /** A fix was applied; the re-run report follows as its own message. */
  z.object({
    kind: z.literal('fix.applied'),
    hub: HubName,
    findingId: FindingId,
    proposedBy: UserId,
    approvedBy: UserId,
    /** What changed, one line each (the commands run). */
    changed: z.array(z.string()),
  }),
  /**
   * A key rotation's progress. `staged` to the owner is expanded by the notifier into the private
   * `peer.config` with the new key (same address and routes); it never carries key material itself.
   */
  z.object({
    kind: z.literal('peer.rotation'),
    phase: z.enum(['staged', 'done', 'rolled-back']),
    requestId: RequestId,
    peer: PeerName,
    hub: HubName,
    owner: UserId,
    address: z.string(),
    address6: z.string().optional(),
    mode: TunnelMode,
    newPublicKey: z.string(),
    /** True when the owner supplied --pubkey: the config has a placeholder for their key. */
    ownKey: z.boolean(),
    hubPublicKey: z.string().optional(),
    /** staged: the new key must connect by then or the rotation is rolled back (ISO). */
    deadline: z.string().optional(),
    detail: z.string().optional(),
  }),
  /** A key is due for rotation (to its owner), overdue (owner and leads), or being revoked. */
  z.object({
    kind: z.literal('key.reminder'),
    stage: z.enum(['due', 'overdue', 'revoking']),
    peer: PeerName,
    hub: HubName,
    owner: UserId,
    /** When the current key was created (ISO). */
    keyCreatedAt: z.string(),
    /** When it is (or was) overdue (ISO). */
    overdueAt: z.string(),
    /** With `policy.overdueAction: revoke`: when the peer is removed (ISO). */
    revokeAt: z.string().optional(),
  }),
  /** To leads: peers with no handshake for `policy.idleAfter`, candidates for reaping. */
  z.object({ kind: z.literal('peer.idle'), idleAfterMs: z.number(), peers: z.array(PeerView) }),
  /** To the owner of a time-bound peer, `policy.expiryWarning` before it is removed. */
  z.object({
    kind: z.literal('peer.expiring'),
    requestId: RequestId,
    peer: PeerName,
    hub: HubName,
    expiresAt: z.string(),
  }),
  /** A request to extend time-bound access; `review` marks the copy that asks leads to decide. */
  z.object({
    kind: z.literal('extension.pending'),
    id: ExtensionId,
    peer: PeerName,
    hub: HubName,
    owner: UserId,
    requester: UserId,
    forMs: z.number(),
    /** The expiry in force when it was asked for (ISO). */
    expiresAt: z.string(),
    review: z.boolean(),
  }),
  z.object({
    kind: z.literal('extension.decided'),
    id: ExtensionId,
    peer: PeerName,
    by: UserId,
    approved: z.boolean(),
    /** The new expiry, when approved (ISO). */
    expiresAt: z.string().optional(),
    reason: z.string().optional(),
  }),
  /** An access review's ask (or reminder) to one owner, or to the leads for owners who left. */
  z.object({
    kind: z.literal('review.ask'),
    reviewId: ReviewId,
    /** When it was sent (ISO): key ages are counted to it. */
    at: z.string(),
    dueAt: z.string(),
    reminder: z.boolean(),
    forLeads: z.boolean(),
    items: z.array(ReviewItem),
  }),
  /** `/vpn review status`: progress per reviewer. */
  z.object({
    kind: z.literal('review.status'),
    reviewId: ReviewId,
    state: z.enum(['open', 'closed']),
    dueAt: z.string(),
    progress: z.array(
      z.object({
        reviewer: z.string(),
        total: z.number(),
        kept: z.number(),
        revoked: z.number(),
        unanswered: z.number(),
      }),
    ),
  }),
  /** `/vpn review report` and the close: the evidence, as Markdown and CSV. */
  z.object({ kind: z.literal('review.report'), reviewId: ReviewId, markdown: z.string(), csv: z.string() }),
]);
export type Reply = z.infer<typeof Reply>;
export type ReplyKind = Reply['kind'];

/** Who a message is for: one user, or every lead. */
export const Recipient = z.discriminatedUnion('type', [
  z.object({ type: z.literal('user'), id: UserId }),
  z.object({ type: z.literal('leads') }),
]);
export type Recipient = z.infer<typeof Recipient>;

/** A reply addressed to someone. `private` asks for a DM or ephemeral reply. */
export const Message = z.object({
  to: Recipient,
  private: z.boolean(),
  reply: Reply,
  /** Correlates a message with the job that produced it (the shell waits for these). */
  jobId: z.string().optional(),
  /** True on a job's last message: nothing more will come for `jobId`. */
  final: z.boolean().optional(),
});
export type Message = z.infer<typeof Message>;
