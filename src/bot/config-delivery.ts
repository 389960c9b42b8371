/**
 * Builds the client config for a freshly provisioned peer, in memory, for its owner only. The
 * generated private key is unsealed here; its sealed copy is deleted only once the config was
 * delivered (bot/config-redelivery.ts).
 */
import { TunnelgateError } from '../core/errors.js';
import { hubConfig, splitRoutes } from '../domain/hubs.js';
import type { Message, Reply } from '../domain/models/reply.js';
import { rotationSealId } from '../store/rotations.js';
import { renderClientConfig } from '../wg/client-config.js';
import type { BotContext } from './context.js';
import { renderQr } from './qr.js';

type Provisioned = Extract<Reply, { kind: 'peer.provisioned' }>;
type RotationStaged = Extract<Reply, { kind: 'peer.rotation' }>;

/** The private `peer.config` message for the owner of a provisioned peer. */
export async function configMessage(ctx: BotContext, provisioned: Provisioned): Promise<Message> {
  const request = await ctx.requests.get(provisioned.requestId);
  const hub = hubConfig(ctx.config, request.hub);
  // null renders the placeholder for an owner who brought their own key (--pubkey).
  let privateKey: string | null = null;
  if (request.generatedKey) {
    const sealed = await ctx.redis.get(ctx.keys.sealedKey(request.id));
    if (sealed === null) {
      throw new TunnelgateError('NOT_FOUND', `the config of ${request.peer} was already delivered`, {
        hint: `rotate the key with /vpn rotate ${request.peer} to get a new config`,
      });
    }
    privateKey = ctx.vault.unseal(sealed);
  }
  const routes = splitRoutes(hub);
  const configText = renderClientConfig({
    privateKey,
    address: provisioned.address,
    ...(request.address6 === undefined ? {} : { address6: request.address6 }),
    dns: hub.dns,
    hubPublicKey: provisioned.hubPublicKey,
    endpoint: hub.endpoint,
    mode: request.mode,
    routes,
  });
  const qr = await renderQr(configText);
  return {
    to: { type: 'user', id: request.requester },
    private: true,
    reply: {
      kind: 'peer.config',
      requestId: request.id,
      peer: request.peer,
      hub: hub.name,
      configText,
      qrTerminal: qr.terminal,
      qrPngBase64: qr.pngBase64,
      ownKey: !request.generatedKey,
    },
  };
}

/**
 * The private `peer.config` with a rotation's new key for the peer's owner: same address, mode and
 * routes as before. The sealed new private key is unsealed here (and deleted once delivered).
 * Throws NOT_FOUND when it was already delivered (or the rotation ended).
 */
export async function rotationConfigMessage(ctx: BotContext, staged: RotationStaged): Promise<Message> {
  const hub = hubConfig(ctx.config, staged.hub);
  const sealedKey = ctx.keys.sealedKey(rotationSealId(staged.hub, staged.peer));
  let privateKey: string | null = null;
  if (!staged.ownKey) {
    const sealed = await ctx.redis.get(sealedKey);
    if (sealed === null) {
      throw new TunnelgateError('NOT_FOUND', `the new config of ${staged.peer} was already delivered`, {
        hint: 'if it was lost, wait for the rotation to roll back, then rotate again',
      });
    }
    privateKey = ctx.vault.unseal(sealed);
  }
  if (staged.hubPublicKey === undefined) {
    throw new TunnelgateError('INTERNAL', `the rotation of ${staged.peer} did not report the hub key`);
  }
  const routes = splitRoutes(hub);
  const configText = renderClientConfig({
    privateKey,
    address: staged.address,
    ...(staged.address6 === undefined ? {} : { address6: staged.address6 }),
    dns: hub.dns,
    hubPublicKey: staged.hubPublicKey,
    endpoint: hub.endpoint,
    mode: staged.mode,
    routes,
  });
  const qr = await renderQr(configText);
  return {
    to: { type: 'user', id: staged.owner },
    private: true,
    reply: {
      kind: 'peer.config',
      requestId: staged.requestId,
      peer: staged.peer,
      hub: hub.name,
      configText,
      qrTerminal: qr.terminal,
      qrPngBase64: qr.pngBase64,
      ownKey: staged.ownKey,
    },
  };
}
