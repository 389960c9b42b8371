/**
 * PagerDuty's REST API v2: `GET /oncalls?schedule_ids[]=…&include[]=users` for who is on call and
 * `GET /incidents/{id}` for an incident, with `Authorization: Token token=…`.
 */
import { z } from 'zod';
import { getJson, type Incident, type OncallProvider, type ProviderOptions } from './provider.js';

/** PagerDuty's public API. */
export const PAGERDUTY_API = 'https://api.pagerduty.com';

const OnCalls = z.object({
  oncalls: z.array(
    z.object({
      /** With include[]=users the user is the full object, email included. */
      user: z.object({ id: z.string(), email: z.email().optional() }),
      schedule: z.object({ id: z.string() }).nullable().optional(),
      start: z.string().nullable().optional(),
      end: z.string().nullable().optional(),
    }),
  ),
  more: z.boolean().optional(),
});

const IncidentBody = z.object({
  incident: z.object({
    id: z.string(),
    title: z.string(),
    status: z.enum(['triggered', 'acknowledged', 'resolved']),
    html_url: z.url().optional(),
  }),
});

/** A PagerDuty client. */
export function pagerDuty(options: ProviderOptions): OncallProvider {
  const headers = {
    authorization: `Token token=${options.token}`,
    accept: 'application/vnd.pagerduty+json;version=2',
  };
  return {
    name: 'pagerduty',
    async onCallEmails(scheduleIds) {
      if (scheduleIds.length === 0) return [];
      const query = new URLSearchParams([
        ...scheduleIds.map((id): [string, string] => ['schedule_ids[]', id]),
        ['include[]', 'users'],
        ['limit', '100'],
      ]);
      const body = await getJson('pagerduty', options, `/oncalls?${query}`, headers, OnCalls);
      return (body?.oncalls ?? []).flatMap((o) => (o.user.email === undefined ? [] : [o.user.email]));
    },
    async incident(id): Promise<Incident | null> {
      const path = `/incidents/${encodeURIComponent(id)}`;
      const body = await getJson('pagerduty', options, path, headers, IncidentBody, true);
      if (body === null) return null;
      const { incident } = body;
      return {
        provider: 'pagerduty',
        id: incident.id,
        title: incident.title,
        url: incident.html_url ?? null,
        status: incident.status,
        open: incident.status !== 'resolved',
      };
    },
  };
}
