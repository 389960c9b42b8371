/**
 * Maps the emails a provider puts on call to chat user ids: the `oncall.users` table first (the
 * only source for Discord and the shell), then, with Slack, `users.lookupByEmail`. An email nobody
 * maps stays unmapped: it grants nothing and is reported.
 */
import { z } from 'zod';

/** Finds the chat user of an email. */
export interface UserDirectory {
  /** The chat user id, or null when no user has this email. Throws when the lookup itself failed. */
  userByEmail(email: string): Promise<string | null>;
}

const LookupAnswer = z.union([
  z.object({ ok: z.literal(true), user: z.object({ id: z.string().regex(/^[A-Z0-9]+$/) }) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** Slack's Web API (default https://slack.com/api/). */
export const SLACK_API = 'https://slack.com/api/';

/**
 * A directory over `table` (email -> user id, compared case-insensitively) and, when `slack` is
 * given, Slack's `users.lookupByEmail` for emails the table does not have.
 */
export function userDirectory(
  table: Readonly<Record<string, string>>,
  slack?: { botToken: string; apiUrl?: string; timeoutMs: number; fetch?: typeof fetch },
): UserDirectory {
  const byEmail = new Map(Object.entries(table).map(([email, id]) => [email.toLowerCase(), id]));
  return {
    async userByEmail(email) {
      const known = byEmail.get(email.toLowerCase());
      if (known !== undefined || slack === undefined) return known ?? null;
      const base = slack.apiUrl ?? SLACK_API;
      const url = `${base.endsWith('/') ? base : `${base}/`}users.lookupByEmail`;
      const response = await (slack.fetch ?? fetch)(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${slack.botToken}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ email }).toString(),
        signal: AbortSignal.timeout(slack.timeoutMs),
      });
      const answer = LookupAnswer.parse(await response.json());
      if (answer.ok) return answer.user.id;
      if (answer.error === 'users_not_found') return null;
      throw new Error(`slack users.lookupByEmail: ${answer.error}`);
    },
  };
}
