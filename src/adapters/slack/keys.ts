/**
 * The Slack adapter's Redis keys, under the deployment's `redis.prefix` so a second deployment or
 * a test on the same Redis stays apart.
 */
export interface SlackKeys {
  /** A request signature already accepted (replay protection, expires with the 5-minute window). */
  seen(signature: string): string;
  /** Where a request's approval card was posted (channel + ts per copy) and what it shows. */
  approval(requestId: string): string;
  /** Where the command that started a job was typed, to answer there when the job reports. */
  origin(jobId: string): string;
}

/** Builds the Slack key names for a prefix. */
export function slackKeys(prefix: string): SlackKeys {
  return {
    seen: (signature) => `${prefix}:slack:seen:${signature}`,
    approval: (requestId) => `${prefix}:slack:approval:${requestId}`,
    origin: (jobId) => `${prefix}:slack:origin:${jobId}`,
  };
}
