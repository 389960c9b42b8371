import { afterAll, beforeAll, expect, it } from 'vitest';
import { ACTION } from '../../src/adapters/slack/approval-card.js';
import { REVIEW_KEEP_ACTION, REVIEW_REVOKE_ACTION } from '../../src/adapters/slack/review-blocks.js';
import { Reply } from '../../src/domain/models/reply.js';
import { useLab } from '../support/lab.js';
import { APPROVALS_CHANNEL, type SlackHarness, startSlackHarness } from '../support/slack-harness.js';

const lab = useLab({ hubs: 1, clients: 0 });

lab.describe('access reviews on Slack (real Bolt, a Slack stand-in)', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness(lab.get(), 'slack-review');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const responseTo = (url: string) =>
    h.standin.waitFor((c) => c.method === 'response' && url.endsWith(`/${c.target}`));

  it('DMs the owner Keep / Revoke buttons; another user is refused, the owner answers once', async () => {
    const sent = await h.command('U0BOB', 'request laptop');
    const id = /r-[a-z0-9]{6}/.exec(String((await responseTo(sent.responseUrl)).params.text))?.[0] ?? '';
    await h.click('U0ALICE', ACTION.approve, id, '1700000000.000001');
    await h.standin.waitFor(
      (c) => c.method === 'files.completeUploadExternal' && c.params.channel_id === 'D0BOB',
    );
    const peer = 'u0bob-laptop';

    const start = await h.command('U0ALICE', 'review start --due 10d');
    expect(String((await responseTo(start.responseUrl)).params.text)).toMatch(
      /Access review v-[a-z0-9]{6} started/,
    );
    const ask = await h.standin.waitFor(
      (c) =>
        c.method === 'chat.postMessage' &&
        c.params.channel === 'D0BOB' &&
        String(c.params.blocks).includes(REVIEW_KEEP_ACTION),
    );
    const blocks = JSON.parse(String(ask.params.blocks)) as Array<{
      type: string;
      elements?: Array<{ action_id: string; value: string }>;
    }>;
    expect(blocks.find((b) => b.type === 'actions')?.elements?.map((e) => [e.action_id, e.value])).toEqual([
      [REVIEW_KEEP_ACTION, peer],
      [REVIEW_REVOKE_ACTION, peer],
    ]);

    const other = await h.click('U0CAROL', REVIEW_KEEP_ACTION, peer, String(ask.params.ts ?? ''), 'D0BOB');
    expect(String((await responseTo(other.responseUrl)).params.text)).toContain(
      `only U0BOB answers the review of ${peer}`,
    );
    const own = await h.click('U0BOB', REVIEW_KEEP_ACTION, peer, String(ask.params.ts ?? ''), 'D0BOB');
    const kept = await responseTo(own.responseUrl);
    expect(kept.params.response_type).toBe('ephemeral');
    expect(String(kept.params.text)).toContain(`Kept ${peer} in review`);
    const again = await h.click('U0BOB', REVIEW_REVOKE_ACTION, peer, String(ask.params.ts ?? ''), 'D0BOB');
    expect(String((await responseTo(again.responseUrl)).params.text)).toContain('already answered');

    const status = await h.command('U0ALICE', 'review status');
    expect(JSON.stringify((await responseTo(status.responseUrl)).params.blocks)).toContain(
      'U0BOB: 1/1 answered (1 kept',
    );
  });

  it("uploads the closing report to the leads' channel as Markdown and CSV files", async () => {
    const csv = 'review,hub,peer\r\nv-7k3m9q,hub1,u0bob-laptop\r\n';
    await h.outlet.deliver({
      to: { type: 'leads' },
      private: false,
      reply: Reply.parse({
        kind: 'review.report',
        reviewId: 'v-7k3m9q',
        markdown: '# Access review v-7k3m9q',
        csv,
      }),
    });
    const done = await h.standin.waitFor(
      (c) => c.method === 'files.completeUploadExternal' && c.params.channel_id === APPROVALS_CHANNEL,
    );
    expect(JSON.stringify(done.params)).toContain('Access review v-7k3m9q (CSV)');
    const names = h.standin.calls
      .filter((c) => c.method === 'files.getUploadURLExternal')
      .map((c) => c.params.filename);
    expect(names).toEqual(expect.arrayContaining(['review-v-7k3m9q.md', 'review-v-7k3m9q.csv']));
    const uploads = h.standin.calls
      .filter((c) => c.method === 'upload')
      .map((c) => c.bytes?.toString() ?? '');
    expect(uploads.join('\n')).toContain('v-7k3m9q,hub1,u0bob-laptop');
  });
});
