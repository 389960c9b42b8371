/**
 * Signed job payloads. A job is an order to a worker (remove this peer, apply that fix, post this
 * message), and anyone who can write to Redis can add one; so every payload Tunnelgate adds
 * carries a MAC over its queue and its canonical JSON, made with the deployment secret, and the
 * processors refuse a job without a valid one before they read anything else in it.
 */
import { UnrecoverableError } from 'bullmq';
import { canonicalJson, type Signer, verifyMac } from '../domain/signer.js';

/** The payload's field that carries the MAC. */
const MAC_FIELD = 'mac';

function macText(queue: string, payload: object): string {
  return `${queue}\n${canonicalJson(payload)}`;
}

/** `payload` with its MAC for `queue` (the queue's name, e.g. `hub-hub1`). */
export function signJob<T extends object>(signer: Signer, queue: string, payload: T): T & { mac: string } {
  return { ...payload, [MAC_FIELD]: signer.mac('job', macText(queue, payload)) } as T & { mac: string };
}

/**
 * The payload of a job taken from `queue`, without its MAC. Throws UnrecoverableError (the job
 * fails at once, never retried) when the MAC is missing or wrong: the job was not added by a
 * Tunnelgate process holding the secret, or was changed after.
 */
export function openJob(signer: Signer, queue: string, data: unknown): unknown {
  if (data === null || typeof data !== 'object' || !(MAC_FIELD in data)) {
    throw new UnrecoverableError(`refused a ${queue} job without a signature`);
  }
  const { [MAC_FIELD]: mac, ...payload } = data as Record<string, unknown>;
  if (typeof mac !== 'string' || !verifyMac(signer, 'job', macText(queue, payload), mac)) {
    throw new UnrecoverableError(`refused a ${queue} job whose signature does not match its payload`);
  }
  return payload;
}
