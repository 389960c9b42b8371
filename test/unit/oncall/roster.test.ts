/**
 * Who is on call for a hub: the provider's people mapped to chat users by email (a table, or
 * Slack's users.lookupByEmail), merged with the static roles.oncall, which alone applies when the
 * provider fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OncallConfig } from '../../../src/config/schema.js';
import { UserId } from '../../../src/core/ids.js';
import { userDirectory } from '../../../src/oncall/directory.js';
import { pagerDuty } from '../../../src/oncall/pagerduty.js';
import { isOnCall, OnCallRoster } from '../../../src/oncall/roster.js';
import { type OncallStandin, startOncallStandin } from '../../support/oncall-standin.js';
import { type SlackStandin, startSlackStandin } from '../../support/slack-standin.js';

const roles = { leads: ['alice'], oncall: ['frank'] };
const actor = (id: string) => ({ id: UserId.parse(id), platformRoles: [] });

describe('the on-call roster', () => {
  let standin: OncallStandin;
  let now = new Date('2026-05-01T10:00:00Z');
  const config = OncallConfig.parse({
    provider: 'pagerduty',
    schedules: ['S1'],
    hubSchedules: { hub2: ['S2'] },
    users: { 'Carol@Example.com': 'carol', 'dave@example.com': 'dave' },
    cacheFor: '1m',
  });
  const roster = () =>
    new OnCallRoster(
      pagerDuty({ baseUrl: standin.url, token: standin.token, timeoutMs: 2_000 }),
      config,
      userDirectory(config.users),
      () => now,
    );

  beforeAll(async () => {
    standin = await startOncallStandin('pagerduty');
    standin.schedules.set('S1', ['carol@example.com', 'stranger@example.com']);
    standin.schedules.set('S2', ['dave@example.com']);
  });
  afterAll(async () => {
    await standin.close();
  });

  it('maps on-call emails to chat users and lists the emails nobody maps', async () => {
    const answer = await roster().onCall('hub1');
    expect([...answer.fromProvider]).toEqual(['carol']);
    expect(answer.unmapped).toEqual(['stranger@example.com']);
    expect(answer.problem).toBeNull();
    expect(isOnCall(actor('carol'), answer, roles)).toBe(true);
    expect(isOnCall(actor('frank'), answer, roles)).toBe(true);
    expect(isOnCall(actor('dave'), answer, roles)).toBe(false);
  });

  it("uses a hub's own schedules", async () => {
    expect([...(await roster().onCall('hub2')).fromProvider]).toEqual(['dave']);
  });

  it('falls back to the static list, naming the problem, when the provider answers garbage', async () => {
    standin.mode = 'garbage';
    try {
      const answer = await roster().onCall('hub1');
      expect(answer.fromProvider.size).toBe(0);
      expect(answer.problem).toMatch(/pagerduty: answered an unexpected shape/);
      expect(isOnCall(actor('carol'), answer, roles)).toBe(false);
      expect(isOnCall(actor('frank'), answer, roles)).toBe(true);
    } finally {
      standin.mode = 'ok';
    }
  });

  it('reuses an answer for oncall.cacheFor, then asks again', async () => {
    const r = roster();
    await r.onCall('hub1');
    const asked = standin.requests.length;
    standin.schedules.set('S1', []);
    expect([...(await r.onCall('hub1')).fromProvider]).toEqual(['carol']);
    expect(standin.requests.length).toBe(asked);
    now = new Date(now.getTime() + 61_000);
    expect((await r.onCall('hub1')).fromProvider.size).toBe(0);
    standin.schedules.set('S1', ['carol@example.com', 'stranger@example.com']);
  });
});

describe('the Slack directory', () => {
  let slack: SlackStandin;
  beforeAll(async () => {
    slack = await startSlackStandin();
  });
  afterAll(async () => {
    await slack.close();
  });

  it('looks an email up with users.lookupByEmail, and an unknown email maps to nobody', async () => {
    slack.addUser('U0CAROL', 'carol', 'Carol', 'carol@example.com');
    const directory = userDirectory(
      { 'dave@example.com': 'U0DAVE' },
      { botToken: 'xoxb-1', apiUrl: slack.apiUrl, timeoutMs: 2_000 },
    );
    expect(await directory.userByEmail('dave@example.com')).toBe('U0DAVE');
    expect(await directory.userByEmail('carol@example.com')).toBe('U0CAROL');
    expect(await directory.userByEmail('nobody@example.com')).toBeNull();
    expect(
      slack.calls.some((c) => c.method === 'users.lookupByEmail' && c.params.email === 'nobody@example.com'),
    ).toBe(true);
  });
});
