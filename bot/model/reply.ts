/**
 * The platform-neutral reply model: what the bot says, to whom. Adapters render a {@link Reply} by
 * its `kind` (Block Kit, embeds, terminal text or JSON); `bot/render-text.ts` is the plain-text
 * rendering every adapter can fall back to. Kinds are stable: the shell's `--json` output uses them.
 */
import { z } from 'zod';
import { SerializedError } from '../../core/errors.js';
import { HubName, PeerName, RequestId, UserId } from '../../core/ids.js';
import { AccessRequest, RequestState, TunnelMode } from './request.js';

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

/** One difference between a hub and the inventory, found by reconcile. */
export const DriftFinding = z.object({
  type: z.enum(['unknown-peer', 'missing-live', 'missing-file', 'restored', 'overlap']),
  publicKey: z.string(),
  peer: z.string().optional(),
  detail: z.string(),
});
export type DriftFinding = z.infer<typeof DriftFinding>;

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
    cause: z.enum(['revoke', 'offboard', 'expiry']),
  }),
  z.object({
    kind: z.literal('peer.list'),
    scope: z.string(),
    peers: z.array(PeerView),
    pending: z.array(AccessRequest),
  }),
  z.object({ kind: z.literal('peer.status'), peers: z.array(PeerView) }),
  z.object({ kind: z.literal('audit.log'), entries: z.array(AuditEntryView), chainIntact: z.boolean() }),
  z.object({
    kind: z.literal('reconcile.report'),
    hub: HubName,
    inSync: z.boolean(),
    findings: z.array(DriftFinding),
  }),
  z.object({ kind: z.literal('job.queued'), jobId: z.string(), text: z.string() }),
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
