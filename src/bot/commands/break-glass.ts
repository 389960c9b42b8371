/**
 * `/vpn breakglass <hub> --incident ID`: whoever is on call now (or a lead) gets a time-bound peer
 * on the hub at once, for an incident open at the provider. The grant is a gate decision with its
 * basis (on call / lead, and the incident), re-checked by the provisioning worker; every lead is
 * told at once. It ends at its deadline (the expiry chain) or when the incident resolves.
 */
import { formatDuration } from '../../core/duration.js';
import { TunnelgateError, toTunnelgateError } from '../../core/errors.js';
import { DeviceName, newId, PeerName } from '../../core/ids.js';
import { breakGlassGate } from '../../domain/break-glass.js';
import type { Basis } from '../../domain/gate.js';
import { pickHub } from '../../domain/hubs.js';
import type { BreakGlassInfo } from '../../domain/models/break-glass.js';
import type { Actor, Command } from '../../domain/models/command.js';
import type { Message } from '../../domain/models/reply.js';
import type { AccessRequest } from '../../domain/models/request.js';
import { isLead } from '../../domain/roles.js';
import { isOnCall, type OnCallRoster } from '../../oncall/roster.js';
import { generateKeyPair } from '../../wg/keys.js';
import { type BotContext, toActor, toRecipient } from '../context.js';

type BreakGlassCommand = Extract<Command, { verb: 'breakglass' }>;

/** The per-user request lock's lifetime (s), as for requests. */
const LOCK_SEC = 30;

export async function handleBreakGlass(
  ctx: BotContext,
  actor: Actor,
  command: BreakGlassCommand,
): Promise<Message[]> {
  const roster = ctx.oncall;
  if (roster === undefined) {
    throw new TunnelgateError('FORBIDDEN', 'break-glass needs an on-call provider to check the incident', {
      hint: 'ask an operator to configure oncall: in tunnelgate.yaml',
    });
  }
  const hub = pickHub(ctx.config, command.hub);
  const policy = ctx.config.policy.breakGlass;
  const forMs = command.forMs ?? policy.for;
  if (forMs > policy.max) {
    throw new TunnelgateError(
      'INPUT_INVALID',
      `${formatDuration(forMs)} is longer than break-glass allows, ${formatDuration(policy.max)} (policy.breakGlass.max)`,
      { hint: 'ask for less; a lead can grant more through /vpn request' },
    );
  }
  if (await ctx.breakGlass.isOffboarded(actor.id)) {
    throw new TunnelgateError('FORBIDDEN', 'you were offboarded: break-glass is not available to you', {
      hint: 'ask a lead',
    });
  }
  const { basis, note } = await basisOf(ctx, roster, actor, hub, command.incident);
  const incident = await openIncident(roster, command.incident);
  const lock = ctx.keys.requestLock(actor.id);
  if ((await ctx.redis.set(lock, '1', 'EX', LOCK_SEC, 'NX')) !== 'OK') {
    throw new TunnelgateError('CONFLICT', 'another request of yours is being recorded right now', {
      hint: 'wait a moment and look at /vpn list',
    });
  }
  try {
    await refuseOverCaps(ctx, actor);
    return await grant(ctx, actor, command, { hub, forMs, basis, incident, note });
  } finally {
    await ctx.redis.del(lock);
  }
}

/** Why `actor` may grant alone: a lead, or on call now. Throws FORBIDDEN, naming a provider failure. */
async function basisOf(
  ctx: BotContext,
  roster: OnCallRoster,
  actor: Actor,
  hub: string,
  incident: string,
): Promise<{ basis: Basis; note: string | null }> {
  if (isLead(actor, ctx.config.roles))
    return { basis: { kind: 'lead', source: 'roles', incident }, note: null };
  const answer = await roster.onCall(hub);
  const note =
    answer.problem === null
      ? null
      : `${roster.provider.name} could not be asked who is on call (${answer.problem}); the static roles.oncall list applied`;
  if (!isOnCall(actor, answer, ctx.config.roles)) {
    throw new TunnelgateError(
      'FORBIDDEN',
      `you are not on call for ${hub} now${note === null ? '' : `: ${note}`}`,
      {
        hint: 'break-glass is for whoever is on call; anyone else can /vpn request access',
      },
    );
  }
  const source = answer.fromProvider.has(actor.id) ? roster.provider.name : 'static';
  return { basis: { kind: 'oncall', source, incident }, note };
}

/** The incident, open at the provider. Throws NOT_FOUND, CONFLICT (not open) or PROVIDER_UNAVAILABLE. */
async function openIncident(roster: OnCallRoster, id: string): Promise<BreakGlassInfo['incident']> {
  const provider = roster.provider.name;
  const incident = await roster.provider.incident(id).catch((err: unknown) => {
    const error = toTunnelgateError(err);
    throw new TunnelgateError(
      'PROVIDER_UNAVAILABLE',
      `cannot check incident ${id}: ${error.message}; nothing was granted`,
    );
  });
  if (incident === null) {
    throw new TunnelgateError('NOT_FOUND', `${provider} has no incident ${id}`, {
      hint: 'give the id of the incident you are working on',
    });
  }
  if (!incident.open) {
    throw new TunnelgateError(
      'CONFLICT',
      `incident ${id} is ${incident.status}, not open: nothing was granted`,
      {
        hint: 'break-glass is for open incidents only',
      },
    );
  }
  return { provider, id: incident.id, title: incident.title, url: incident.url };
}

async function refuseOverCaps(ctx: BotContext, actor: Actor): Promise<void> {
  const active = await ctx.breakGlass.activeOf(actor.id);
  if (active !== null) {
    throw new TunnelgateError('CONFLICT', `you already have break-glass access (request ${active})`, {
      hint: 'one at a time: revoke it first if you need another hub',
    });
  }
  const perWeek = ctx.config.policy.breakGlass.perWeek;
  if ((await ctx.breakGlass.countThisWeek(actor.id, ctx.clock())) >= perWeek) {
    throw new TunnelgateError(
      'CONFLICT',
      `you had ${perWeek} break-glass grants in the last 7 days (policy.breakGlass.perWeek)`,
      {
        hint: 'ask a lead to approve a /vpn request instead',
      },
    );
  }
}

async function grant(
  ctx: BotContext,
  actor: Actor,
  command: BreakGlassCommand,
  g: { hub: string; forMs: number; basis: Basis; incident: BreakGlassInfo['incident']; note: string | null },
): Promise<Message[]> {
  const now = ctx.clock();
  const id = newId('r') as AccessRequest['id'];
  const device = DeviceName.parse(`bg-${id.slice(2)}`);
  const peer = PeerName.parse(`${actor.id}-${device}`.toLowerCase());
  const keys = generateKeyPair();
  const mode: AccessRequest['mode'] = command.full ? 'full' : 'split';
  const draft: Omit<AccessRequest, 'gate'> = {
    id,
    requester: actor.id,
    device,
    peer,
    hub: g.hub as AccessRequest['hub'],
    mode,
    publicKey: keys.publicKey as AccessRequest['publicKey'],
    generatedKey: true,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
    forMs: g.forMs,
    state: 'approved',
    createdAt: now.toISOString(),
    breakGlass: { incident: g.incident, basis: g.basis.kind },
    history: [
      { at: now.toISOString(), by: actor.id, event: 'break-glass', detail: `incident ${g.incident.id}` },
    ],
  };
  const request: AccessRequest = {
    ...draft,
    gate: breakGlassGate(draft, { actor, basis: g.basis, now, signer: ctx.signer }),
  };
  await ctx.redis.set(
    ctx.keys.sealedKey(id),
    ctx.vault.seal(keys.privateKey),
    'EX',
    Math.ceil(g.forMs / 1000) + 86_400,
  );
  await ctx.requests.create(request);
  const until = new Date(now.getTime() + g.forMs).toISOString();
  await ctx.breakGlass.record({
    requestId: id,
    user: actor.id,
    hub: g.hub,
    peer,
    provider: g.incident.provider,
    incidentId: g.incident.id,
    from: now.toISOString(),
    until,
  });
  const jobId = await ctx.queues.addHub(
    { kind: 'provision', hub: g.hub as AccessRequest['hub'], requestId: id },
    { jobId: `provision-${id}-bg` },
  );
  const pollEvery = ctx.config.oncall?.pollEvery ?? 60_000;
  await ctx.queues.addTask(
    { kind: 'breakglass-poll', requestId: id },
    { delayMs: pollEvery, jobId: `bg-poll-${id}-${now.getTime()}` },
  );
  await ctx.audit.append({
    at: now.toISOString(),
    actor: actor.id,
    action: 'breakglass',
    hub: g.hub,
    target: id,
    result: 'ok',
    detail:
      `${peer} ${mode} for ${g.forMs}ms; ${g.basis.kind} (${g.basis.source}); incident ${g.incident.provider}:${g.incident.id} "${g.incident.title}" ${g.incident.url ?? ''}`.trim(),
  });
  const notice = {
    kind: 'breakglass.granted' as const,
    requestId: id,
    user: actor.id,
    hub: g.hub as AccessRequest['hub'],
    peer,
    mode,
    incident: g.incident,
    basis: g.basis.kind,
    forMs: g.forMs,
    ...(command.reason === undefined ? {} : { reason: command.reason }),
  };
  const text = `break-glass access to ${g.hub} for ${formatDuration(g.forMs)} (until ${until}) for incident ${g.incident.id}: provisioning ${peer}…${g.note === null ? '' : ` Note: ${g.note}.`}`;
  return [
    toActor(actor, { kind: 'job.queued', jobId, text }, { jobId }),
    toRecipient({ type: 'leads' }, notice, false),
  ];
}
