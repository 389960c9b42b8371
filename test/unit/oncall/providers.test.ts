/**
 * The PagerDuty and Opsgenie clients against local stand-ins speaking the documented formats:
 * who is on call, incident status, and that a provider down or answering garbage is an error
 * (PROVIDER_UNAVAILABLE), never an answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsgenie } from '../../../src/oncall/opsgenie.js';
import { pagerDuty } from '../../../src/oncall/pagerduty.js';
import type { OncallProvider } from '../../../src/oncall/provider.js';
import { type OncallStandin, startOncallStandin } from '../../support/oncall-standin.js';

const providers = [
  { name: 'pagerduty', client: pagerDuty, open: 'acknowledged', closed: 'resolved' },
  { name: 'opsgenie', client: opsgenie, open: 'open', closed: 'closed' },
] as const;

describe.each(providers)('the $name client', ({ name, client, open, closed }) => {
  let standin: OncallStandin;
  let api: OncallProvider;

  beforeAll(async () => {
    standin = await startOncallStandin(name);
    standin.schedules.set('S1', ['carol@example.com']);
    standin.schedules.set('S2', ['dave@example.com', 'erin@example.com']);
    standin.incidents.set('INC-1', { title: 'db down', status: open });
    standin.incidents.set('INC-2', { title: 'old', status: closed });
    api = client({ baseUrl: standin.url, token: standin.token, timeoutMs: 2_000 });
  });
  afterAll(async () => {
    await standin.close();
  });

  it('reads the emails on call on every schedule asked', async () => {
    expect((await api.onCallEmails(['S1', 'S2'])).sort()).toEqual([
      'carol@example.com',
      'dave@example.com',
      'erin@example.com',
    ]);
    expect(await api.onCallEmails(['S9'])).toEqual([]);
  });

  it('tells an open incident from a closed one, and an unknown id from both', async () => {
    const incident = await api.incident('INC-1');
    expect(incident).toMatchObject({
      provider: name,
      id: 'INC-1',
      title: 'db down',
      status: open,
      open: true,
    });
    expect(incident?.url).toMatch(/^https:\/\/example\./);
    expect(await api.incident('INC-2')).toMatchObject({ open: false, status: closed });
    expect(await api.incident('NOPE')).toBeNull();
  });

  it('refuses an answer of the wrong shape and a provider that is down', async () => {
    standin.mode = 'garbage';
    await expect(api.onCallEmails(['S1'])).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    standin.mode = 'down';
    await expect(api.onCallEmails(['S1'])).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    await expect(api.incident('INC-1')).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    standin.mode = 'ok';
  });

  it('refuses to take a rejected token as an empty answer', async () => {
    const wrong = client({ baseUrl: standin.url, token: 'wrong', timeoutMs: 2_000 });
    await expect(wrong.onCallEmails(['S1'])).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    await expect(wrong.incident('INC-1')).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });

  it('counts a provider nobody listens for as down', async () => {
    const gone = client({ baseUrl: 'http://127.0.0.1:9', token: 't', timeoutMs: 2_000 });
    await expect(gone.onCallEmails(['S1'])).rejects.toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
  });
});

describe('the PagerDuty request', () => {
  it('names the schedules as schedule_ids[] and asks for the users with their emails', async () => {
    const standin = await startOncallStandin('pagerduty');
    try {
      await pagerDuty({ baseUrl: standin.url, token: standin.token, timeoutMs: 2_000 }).onCallEmails([
        'A',
        'B',
      ]);
      const query = new URL(`http://x${standin.requests[0]}`).searchParams;
      expect(query.getAll('schedule_ids[]')).toEqual(['A', 'B']);
      expect(query.getAll('include[]')).toEqual(['users']);
    } finally {
      await standin.close();
    }
  });
});
