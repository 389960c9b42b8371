/**
 * `/vpn request <device>`: records a request, tells leads exactly what approving it will change,
 * and schedules its expiry. Without `--pubkey` the bot generates the key pair here; the private
 * key is sealed by the key vault and only ever leaves it inside the config sent to the requester.
 */
import { TunnelgateError } from '../../core/errors.js';
import { newId, PeerName } from '../../core/ids.js';
import { requestGate, requiredApprovals } from '../../domain/approval.js';
import { hubAddress, hubConfig, pickHub, splitRoutes } from '../../domain/hubs.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { ChangePreview, Message } from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { loadDrift } from '../../store/drift.js';
import { generateKeyPair } from '../../wg/keys.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

type RequestCommand = Extract<Command, { verb: 'request' }>;

const ACTIVE = ['pending', 'approved', 'provisioning', 'provisioned', 'failed'] as const;
/** Requests that still wait for someone: they count against policy.maxOpenRequests. */
const OPEN: ReadonlySet<string> = new Set(['pending', 'approved', 'provisioning']);
/** The per-user request lock's lifetime (s): far longer than recording a request takes. */
const LOCK_SEC = 30;

/** What approving `request` will change on its hub, with the address it would get now. */
export async function previewOf(ctx: BotContext, request: AccessRequest): Promise<ChangePreview> {
  const hub = hubConfig(ctx.config, request.hub);
  const address = request.address ?? (await ctx.inventory.peekAddress(hub.name, hub.subnet, hubAddress(hub)));
  const routes = splitRoutes(hub);
  const drift = await loadDrift(ctx.redis, ctx.keys, hub.name);
  return {
    hub: hub.name,
    peer: request.peer,
    mode: request.mode,
    address,
    hubAllowedIps: [address],
    clientAllowedIps: request.mode === 'full' ? ['0.0.0.0/0', '::/0'] : routes,
    endpoint: hub.endpoint,
    ...(request.forMs === undefined ? {} : { forMs: request.forMs }),
    approvalsRequired: request.gate.required,
    ...(drift === null ? {} : { drift }),
  };
}

export async function handleRequest(
  ctx: BotContext,
  actor: Actor,
  command: RequestCommand,
): Promise<Message[]> {
  // One request of a user is recorded at a time, so the cap and the name checks cannot be raced.
  const lock = ctx.keys.requestLock(actor.id);
  if ((await ctx.redis.set(lock, '1', 'EX', LOCK_SEC, 'NX')) !== 'OK') {
    throw new TunnelgateError('CONFLICT', 'another request of yours is being recorded right now', {
      hint: 'wait a moment and look at /vpn list before asking again',
    });
  }
  try {
    return await createRequest(ctx, actor, command);
  } finally {
    await ctx.redis.del(lock);
  }
}

async function createRequest(ctx: BotContext, actor: Actor, command: RequestCommand): Promise<Message[]> {
  const hub = pickHub(ctx.config, command.hub);
  // Named after the stable user id, never a display name anyone can choose (or copy).
  const peer = PeerName.parse(`${actor.id}-${command.device}`.toLowerCase());
  const mode = command.full ? 'full' : 'split';
  const mine = await ctx.requests.list({ requester: actor.id, states: ACTIVE });
  const open = mine.filter((r) => OPEN.has(r.state)).length;
  if (open >= ctx.config.policy.maxOpenRequests) {
    throw new TunnelgateError(
      'CONFLICT',
      `you have ${open} open requests; at most ${ctx.config.policy.maxOpenRequests} may wait at once (policy.maxOpenRequests)`,
      { hint: 'wait for the leads to decide them, or see /vpn list' },
    );
  }
  const clash = mine.find((r) => r.peer === peer && r.hub === hub);
  if (clash !== undefined) {
    throw new TunnelgateError(
      'CONFLICT',
      `you already have ${peer} on ${hub} (request ${clash.id}, ${clash.state})`,
      {
        hint: 'pick another device name, or revoke the old peer first',
      },
    );
  }
  await refuseNameTakenByOthers(ctx, actor, peer);
  const now = ctx.clock();
  const id = newId('r');
  const keys = command.pubkey === undefined ? generateKeyPair() : null;
  const draft: Omit<AccessRequest, 'gate'> = {
    id: id as AccessRequest['id'],
    requester: actor.id,
    device: command.device,
    peer,
    hub: hub as AccessRequest['hub'],
    mode,
    publicKey: keys?.publicKey ?? (command.pubkey as AccessRequest['publicKey']),
    generatedKey: keys !== null,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
    ...(command.forMs === undefined ? {} : { forMs: command.forMs }),
    state: 'pending',
    createdAt: now.toISOString(),
    history: [{ at: now.toISOString(), by: actor.id, event: 'requested' }],
  };
  const until = new Date(now.getTime() + ctx.config.policy.requestTtl);
  const request: AccessRequest = {
    ...draft,
    gate: requestGate(draft, requiredApprovals(mode, ctx.config.policy), until),
  };
  if (keys !== null) {
    const ttlSec = Math.ceil((ctx.config.policy.requestTtl + 7 * 86_400_000) / 1000);
    await ctx.redis.set(ctx.keys.sealedKey(id), ctx.vault.seal(keys.privateKey), 'EX', ttlSec);
  }
  await ctx.requests.create(request);
  await ctx.queues.addTask(
    { kind: 'expire-request', requestId: request.id },
    { delayMs: ctx.config.policy.requestTtl, jobId: `expire-request-${id}` },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'request',
    hub,
    target: id,
    result: 'pending',
    detail: `${peer} ${mode}${command.forMs === undefined ? '' : ` for ${command.forMs}ms`}`,
  });
  const preview = await previewOf(ctx, request);
  return [
    toActor(actor, { kind: 'request.pending', request, preview }),
    toRecipient({ type: 'leads' }, { kind: 'request.review', request, preview }, false),
  ];
}

/**
 * Display names are not unique, so a peer name could clash with another user's peer, and revoke,
 * rotate and status find peers by name. Throws CONFLICT when someone else holds `peer` (an active
 * request or a live peer on any hub).
 */
async function refuseNameTakenByOthers(ctx: BotContext, actor: Actor, peer: string): Promise<void> {
  const [active, live] = await Promise.all([
    ctx.requests.list({ states: ACTIVE, peer }),
    ctx.inventory.findByName(
      ctx.config.hubs.map((h) => h.name),
      peer,
    ),
  ]);
  const taken =
    active.some((r) => r.peer === peer && r.requester !== actor.id) ||
    (live !== null && live.owner !== actor.id);
  if (taken) {
    throw new TunnelgateError('CONFLICT', `the peer name ${peer} is already taken by another user`, {
      hint: 'pick another device name',
    });
  }
}
