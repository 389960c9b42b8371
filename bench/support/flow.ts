/** The request -> approve -> provisioned flow, as the figures drive it through the bot. */
import type { Message } from '../../src/domain/models/reply.js';
import type { BenchTunnelgate } from './tunnelgate.js';

/** `user` asks for `device` (on `hub` when given); returns the request id. Throws on any other reply. */
export async function request(
  tg: BenchTunnelgate,
  user: string,
  device: string,
  hub?: string,
): Promise<string> {
  const line = `/vpn request ${device}${hub === undefined ? '' : ` --hub ${hub}`}`;
  const [first] = await tg.run(user, line);
  if (first?.reply.kind !== 'request.pending') {
    throw new Error(`${user}: ${line} got ${JSON.stringify(first?.reply ?? null).slice(0, 300)}`);
  }
  return first.reply.request.id;
}

/** Whether `m` is the final word on provisioning `requestId`: the leads' peer.provisioned, or peer.failed. */
export function provisioningDone(m: Message, requestId: string): boolean {
  if (m.reply.kind === 'peer.provisioned') return m.reply.requestId === requestId && m.to.type === 'leads';
  return m.reply.kind === 'peer.failed' && m.reply.requestId === requestId;
}

/**
 * Approves `requestId` as alice and waits for peer.provisioned; returns the ms from the approve
 * call to the message's arrival. Throws when provisioning failed.
 */
export async function approveAndWait(tg: BenchTunnelgate, requestId: string): Promise<number> {
  const started = performance.now();
  const [reply] = await tg.run('alice', `/vpn approve ${requestId}`);
  if (reply?.reply.kind !== 'request.approved') {
    throw new Error(`approve ${requestId} got ${JSON.stringify(reply?.reply ?? null).slice(0, 300)}`);
  }
  const arrival = await tg.waitFor((m) => provisioningDone(m, requestId));
  if (arrival.message.reply.kind !== 'peer.provisioned') {
    throw new Error(
      `provisioning ${requestId} failed: ${JSON.stringify(arrival.message.reply).slice(0, 500)}`,
    );
  }
  return arrival.at - started;
}
