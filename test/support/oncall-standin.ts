/**
 * Local stand-ins for PagerDuty's and Opsgenie's REST APIs, speaking their documented formats:
 * PagerDuty `GET /oncalls?schedule_ids[]=…&include[]=users` and `GET /incidents/{id}` (auth
 * `Token token=…`), Opsgenie `GET /v2/schedules/{id}/on-calls?flat=true` and
 * `GET /v1/incidents/{id}` (auth `GenieKey …`). Unknown incidents get the provider's 404; a wrong
 * token gets 401. `mode` makes it misbehave: `garbage` answers the on-call endpoint with a body
 * of the wrong shape, `down` answers everything 503. Also signs PagerDuty v3 webhook bodies.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandinIncident {
  title: string;
  /** PagerDuty: triggered | acknowledged | resolved. Opsgenie: open | resolved | closed. */
  status: string;
}

export interface OncallStandin {
  url: string;
  token: string;
  /** schedule id -> emails on call now. */
  schedules: Map<string, string[]>;
  incidents: Map<string, StandinIncident>;
  mode: 'ok' | 'garbage' | 'down';
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startOncallStandin(
  provider: 'pagerduty' | 'opsgenie',
  token = 'standin-token',
): Promise<OncallStandin> {
  const state: Omit<OncallStandin, 'url' | 'close'> = {
    token,
    schedules: new Map(),
    incidents: new Map(),
    mode: 'ok',
    requests: [],
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    state.requests.push(`${url.pathname}${url.search}`);
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (state.mode === 'down') return send(503, { error: 'unavailable' });
    const auth = provider === 'pagerduty' ? `Token token=${state.token}` : `GenieKey ${state.token}`;
    if (req.headers.authorization !== auth)
      return send(401, { error: { message: 'Unauthorized', code: 2006 } });
    if (provider === 'pagerduty') {
      if (url.pathname === '/oncalls') {
        if (state.mode === 'garbage') return send(200, { oncalls: [{ user: 'carol@example.com' }] });
        const ids = url.searchParams.getAll('schedule_ids[]');
        const withUsers = url.searchParams.getAll('include[]').includes('users');
        const oncalls = ids.flatMap((id) =>
          (state.schedules.get(id) ?? []).map((email, i) => ({
            escalation_policy: { id: 'PEP1', type: 'escalation_policy_reference', summary: 'Ops' },
            escalation_level: 1,
            schedule: { id, type: 'schedule_reference', summary: id },
            user: withUsers
              ? { id: `PU${i}`, type: 'user', name: email.split('@')[0], email, time_zone: 'UTC' }
              : { id: `PU${i}`, type: 'user_reference', summary: email.split('@')[0] },
            start: '2026-01-01T00:00:00Z',
            end: '2027-01-01T00:00:00Z',
          })),
        );
        return send(200, { oncalls, limit: 100, offset: 0, more: false, total: null });
      }
      const incident = /^\/incidents\/([^/]+)$/.exec(url.pathname)?.[1];
      const found = incident === undefined ? undefined : state.incidents.get(decodeURIComponent(incident));
      if (incident === undefined || found === undefined) {
        return send(404, { error: { message: 'Not Found', code: 2100 } });
      }
      return send(200, {
        incident: {
          id: incident,
          type: 'incident',
          incident_number: 42,
          title: found.title,
          status: found.status,
          urgency: 'high',
          html_url: `https://example.pagerduty.com/incidents/${incident}`,
        },
      });
    }
    const schedule = /^\/v2\/schedules\/([^/]+)\/on-calls$/.exec(url.pathname)?.[1];
    if (schedule !== undefined) {
      if (state.mode === 'garbage') return send(200, { data: { onCallRecipients: 'everyone' } });
      const id = decodeURIComponent(schedule);
      return send(200, {
        data: { _parent: { id, name: id, enabled: true }, onCallRecipients: state.schedules.get(id) ?? [] },
        took: 0.01,
        requestId: 'req-1',
      });
    }
    const incident = /^\/v1\/incidents\/([^/]+)$/.exec(url.pathname)?.[1];
    const found = incident === undefined ? undefined : state.incidents.get(decodeURIComponent(incident));
    if (incident === undefined || found === undefined) {
      return send(404, { message: 'Incident not found', took: 0.01, requestId: 'req-2' });
    }
    return send(200, {
      data: {
        id: incident,
        tinyId: '7',
        message: found.title,
        status: found.status,
        links: { web: `https://example.app.opsgenie.com/incident/detail/${incident}`, api: '' },
      },
      took: 0.01,
      requestId: 'req-3',
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** A PagerDuty v3 webhook body about an incident, and its `X-PagerDuty-Signature` under `secret`. */
export function pagerDutyWebhook(
  secret: string,
  event: { id: string; type: string; incident: string; status: string; occurredAt?: string },
): { body: string; signature: string } {
  const body = JSON.stringify({
    event: {
      id: event.id,
      event_type: event.type,
      resource_type: 'incident',
      occurred_at: event.occurredAt ?? new Date().toISOString(),
      agent: { id: 'PU0', type: 'user_reference' },
      client: null,
      data: {
        id: event.incident,
        type: 'incident',
        self: `https://api.pagerduty.com/incidents/${event.incident}`,
        html_url: `https://example.pagerduty.com/incidents/${event.incident}`,
        number: 42,
        status: event.status,
        title: 'standin incident',
      },
    },
  });
  return { body, signature: `v1=${createHmac('sha256', secret).update(body).digest('hex')}` };
}
