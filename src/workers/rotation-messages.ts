/**
 * The messages of a key rotation (workers/rotate.ts): to the owner, to whoever asked when that was
 * someone else, and to the leads when a rotation is stuck after its move.
 */
import type { TunnelgateError } from '../core/errors.js';
import type { Message } from '../domain/models/reply.js';
import type { PeerCheck } from '../hub/programs/peers.js';
import type { RotationRecord } from '../store/rotations.js';

/** The rotation's messages: to the owner, and to whoever asked when that was someone else. */
export function rotationMessages(
  rotation: RotationRecord,
  reply: Message['reply'],
  jobId: string | undefined,
): Message[] {
  const messages: Message[] = [{ to: { type: 'user', id: rotation.owner }, private: true, reply }];
  if (rotation.by !== rotation.owner)
    messages.push({ to: { type: 'user', id: rotation.by }, private: true, reply });
  Object.assign(messages.at(-1) ?? {}, { jobId, final: true });
  return messages;
}

export function rotationReply(
  rotation: RotationRecord,
  phase: 'staged' | 'done' | 'rolled-back',
  detail?: string,
) {
  return {
    kind: 'peer.rotation' as const,
    phase,
    requestId: rotation.requestId,
    peer: rotation.peer,
    hub: rotation.hub,
    owner: rotation.owner,
    address: rotation.address,
    ...(rotation.address6 === undefined ? {} : { address6: rotation.address6 }),
    mode: rotation.mode,
    newPublicKey: rotation.newPublicKey,
    ownKey: !rotation.generatedKey,
    ...(rotation.hubPublicKey === undefined ? {} : { hubPublicKey: rotation.hubPublicKey }),
    ...(rotation.deadline === undefined ? {} : { deadline: rotation.deadline }),
    ...(detail === undefined ? {} : { detail }),
  };
}

/** What the hub holds of both keys, in words, for a commit that did not take. */
export function hubState(fresh: PeerCheck, stale: PeerCheck): string {
  const one = (check: PeerCheck) =>
    `${check.liveAllowedIps === null ? 'not live' : `live with ${check.liveAllowedIps.join(',')}`}, ${check.inFile ? 'in the config file' : 'not in the config file'}`;
  return `new key ${one(fresh)}; old key ${one(stale)}`;
}

/**
 * The final word on a rotation that failed for good: to the owner and the asker, and when the
 * address had already moved (the commit could not finish), a notice to the leads with `onHub`,
 * what the hub holds of both keys (see {@link hubState}).
 */
export function rotationFailedMessages(
  rotation: RotationRecord,
  error: TunnelgateError,
  onHub: string | undefined,
  jobId: string | undefined,
): Message[] {
  const reply = {
    kind: 'peer.failed' as const,
    requestId: rotation.requestId,
    peer: rotation.peer,
    hub: rotation.hub,
    action: 'rotate',
    error: { ...error.toJSON(), hint: `run /vpn rotate ${rotation.peer} again to resume it` },
  };
  const messages: Message[] = [{ to: { type: 'user', id: rotation.owner }, private: true, reply }];
  if (rotation.by !== rotation.owner)
    messages.push({ to: { type: 'user', id: rotation.by }, private: true, reply });
  if (rotation.state === 'moved') {
    messages.push({
      to: { type: 'leads' },
      private: false,
      reply: {
        kind: 'notice',
        text: [
          `The key rotation of ${rotation.peer} (owner ${rotation.owner}) on hub ${rotation.hub} moved the address ${rotation.address} to the new key ${rotation.newPublicKey} but its commit could not finish: ${error.message}.`,
          `On the hub now: ${onHub ?? 'not read'}.`,
          `A config file still holding the old key ${rotation.oldPublicKey} would bring it back at the next restart of the interface.`,
          `Run /vpn rotate ${rotation.peer} to resume: it commits the file and the interface first.`,
        ].join(' '),
      },
    });
  }
  Object.assign(messages.at(-1) ?? {}, { jobId, final: true });
  return messages;
}
