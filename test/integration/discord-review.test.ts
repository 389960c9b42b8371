import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  APPLICATION,
  APPROVALS_CHANNEL,
  type DiscordHarness,
  startDiscordHarness,
  USERS,
} from '../support/discord-harness.js';
import type { Recorded, RestRecord } from '../support/discord-standin.js';
import { useLab } from '../support/lab.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('access reviews on Discord (real discord.js, a stand-in for Discord)', () => {
  let h: DiscordHarness;
  beforeAll(async () => {
    h = await startDiscordHarness(lab.get(), 'discord-review');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const isRest = (r: Recorded): r is RestRecord => r.type === 'rest';
  const text = (r: RestRecord) => JSON.stringify(r.body);
  const answerOf = (id: string) =>
    h.standin.waitFor(
      (r): r is RestRecord =>
        isRest(r) && r.method === 'PATCH' && r.path.startsWith(`/webhooks/${APPLICATION}/token-${id}-`),
    );
  const customIds = (message: Record<string, unknown>) =>
    JSON.stringify(message.components).match(/tg:[a-z-]+:[^"]+/g) ?? ([] as string[]);

  it("DMs each owner Keep / Revoke buttons; only the owner's click answers; the report comes as files", async () => {
    const asked = h.standin.slash(USERS.bob.id, 'request', { device: 'laptop', reason: 'first day' });
    const requestId = /r-[a-z0-9]{6}/.exec(text(await answerOf(asked)))?.[0] ?? '';
    await h.standin.waitFor(
      (r) => isRest(r) && r.path === `/channels/${APPROVALS_CHANNEL}/messages` && text(r).includes(requestId),
    );
    const card = h.standin
      .posted(APPROVALS_CHANNEL)
      .find((m) => JSON.stringify(m.embeds).includes(requestId));
    h.standin.click(USERS.alice.id, String(card?.id), `tg:approve:${requestId}`);
    const peer = `${USERS.bob.id}-laptop`;
    await h.standin.waitFor((r) => isRest(r) && r.files.some((f) => f.name === `${peer}.conf`));

    const refused = h.standin.slash(USERS.bob.id, 'review', { action: 'start' });
    expect(text(await answerOf(refused))).toContain('only leads start access reviews');
    const started = h.standin.slash(USERS.alice.id, 'review', { action: 'start', due: '10d' });
    const reviewId = /v-[a-z0-9]{6}/.exec(text(await answerOf(started)))?.[0] ?? '';
    expect(reviewId).not.toBe('');

    const bobsDm = () => h.standin.dmChannelOf(USERS.bob.id) ?? '';
    const keep = `tg:keep:${peer}`;
    await h.standin.waitFor(
      (r) => isRest(r) && r.path === `/channels/${bobsDm()}/messages` && text(r).includes(keep),
    );
    const dm = h.standin.posted(bobsDm()).find((m) => customIds(m).includes(keep));
    expect(customIds(dm ?? {})).toEqual([keep, `tg:revoke:${peer}`]);
    expect(JSON.stringify(dm?.embeds)).toContain(`Access review ${reviewId}`);

    const carols = h.standin.click(USERS.carol.id, String(dm?.id), keep);
    expect(text(await answerOf(carols))).toContain(`only ${USERS.bob.id} answers the review of ${peer}`);
    const bobs = h.standin.click(USERS.bob.id, String(dm?.id), keep);
    expect(text(await answerOf(bobs))).toContain(`Kept ${peer} in review ${reviewId}`);
    const again = h.standin.click(USERS.bob.id, String(dm?.id), `tg:revoke:${peer}`);
    expect(text(await answerOf(again))).toContain('already answered');

    const status = h.standin.slash(USERS.alice.id, 'review', { action: 'status' });
    expect(text(await answerOf(status))).toContain(
      `${USERS.bob.id}: 1/1 answered (1 kept, 0 revoked, 0 waiting)`,
    );
    const report = h.standin.slash(USERS.alice.id, 'review', { action: 'report' });
    await answerOf(report);
    const files = await h.standin.waitFor(
      (r): r is RestRecord => isRest(r) && r.files.some((f) => f.name === `review-${reviewId}.csv`),
    );
    expect(files.files.map((f) => f.name)).toEqual([`review-${reviewId}.md`, `review-${reviewId}.csv`]);
  });
});
