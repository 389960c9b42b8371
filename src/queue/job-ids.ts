/**
 * Job ids that more than one process builds: a duplicate add with the same id is a no-op while
 * the first job exists, so the bot and the workers must agree on them.
 */

/** The first link of a time-bound peer's expiry chain (queued by provisioning). */
export function expireJobId(requestId: string): string {
  return `expire-${requestId}`;
}

/** The job id for one extension's write into the hub file, so a retried approval queues it once. */
export function setExpiryJobId(requestId: string, expiresAt: string): string {
  return `set-expiry-${requestId}-${Date.parse(expiresAt)}`;
}
