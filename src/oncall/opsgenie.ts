/**
 * Opsgenie's REST API: `GET /v2/schedules/{id}/on-calls?flat=true` (the on-call recipients, user
 * names being emails) and `GET /v1/incidents/{id}`, with `Authorization: GenieKey …`.
 */
import { z } from 'zod';
import { getJson, type Incident, type OncallProvider, type ProviderOptions } from './provider.js';

/** Opsgenie's public API (the EU instance is https://api.eu.opsgenie.com). */
export const OPSGENIE_API = 'https://api.opsgenie.com';

const OnCalls = z.object({
  data: z.object({
    _parent: z.object({ id: z.string() }).optional(),
    onCallRecipients: z.array(z.string()),
  }),
});

const IncidentBody = z.object({
  data: z.object({
    id: z.string(),
    tinyId: z.string().optional(),
    message: z.string(),
    status: z.enum(['open', 'resolved', 'closed']),
    links: z.object({ web: z.url().optional() }).optional(),
  }),
});

/** An Opsgenie client. */
export function opsgenie(options: ProviderOptions): OncallProvider {
  const headers = { authorization: `GenieKey ${options.token}` };
  return {
    name: 'opsgenie',
    async onCallEmails(scheduleIds) {
      const lists = await Promise.all(
        scheduleIds.map(async (id) => {
          const path = `/v2/schedules/${encodeURIComponent(id)}/on-calls?flat=true`;
          const body = await getJson('opsgenie', options, path, headers, OnCalls);
          return body?.data.onCallRecipients ?? [];
        }),
      );
      // Flat recipients are user names (emails); teams or escalations would not parse as emails.
      return lists.flat().filter((name) => z.email().safeParse(name).success);
    },
    async incident(id): Promise<Incident | null> {
      const path = `/v1/incidents/${encodeURIComponent(id)}?identifierType=id`;
      const body = await getJson('opsgenie', options, path, headers, IncidentBody, true);
      if (body === null) return null;
      const { data } = body;
      return {
        provider: 'opsgenie',
        id: data.id,
        title: data.message,
        url: data.links?.web ?? null,
        status: data.status,
        open: data.status === 'open',
      };
    },
  };
}
