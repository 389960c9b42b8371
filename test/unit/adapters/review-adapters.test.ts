import { describe, expect, it } from 'vitest';
import { decodeCustomId, encodeCustomId } from '../../../src/adapters/discord/custom-ids.js';
import { renderDiscord } from '../../../src/adapters/discord/render.js';
import { commandFromInvocation } from '../../../src/adapters/discord/slash-command.js';
import { replyBody } from '../../../src/adapters/slack/blocks.js';
import { REVIEW_KEEP_ACTION, REVIEW_REVOKE_ACTION } from '../../../src/adapters/slack/review-blocks.js';
import { PeerName } from '../../../src/core/ids.js';
import { Reply } from '../../../src/domain/models/reply.js';

const item = (peer: string) => ({
  hub: 'hub1',
  peer,
  owner: 'bob',
  publicKey: Buffer.alloc(32, 7).toString('base64'),
  requestId: 'r-7k3m9q',
  address: '10.6.0.7/32',
  mode: 'split',
  keyCreatedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
  handshakeAgeSec: null,
  handshakeKnown: true,
  reviewer: 'owner',
  decision: null,
  outcome: null,
  outcomeAt: null,
});
const ask = (peers: string[]) =>
  Reply.parse({
    kind: 'review.ask',
    reviewId: 'v-7k3m9q',
    at: '2026-01-02T00:00:00.000Z',
    dueAt: '2026-01-15T00:00:00.000Z',
    reminder: false,
    forLeads: false,
    items: peers.map(item),
  });

describe('access review controls in the chat adapters', () => {
  it('Discord: one Keep / Revoke row per peer, at most five, with ids that decode to the peer', () => {
    const payload = renderDiscord(ask(['bob-a', 'bob-b', 'bob-c', 'bob-d', 'bob-e', 'bob-f']));
    expect(payload.components).toHaveLength(5);
    const [keep, revoke] = payload.components[0]?.components ?? [];
    expect(keep && 'custom_id' in keep && decodeCustomId(keep.custom_id)).toEqual({
      action: 'keep',
      peer: 'bob-a',
    });
    expect(revoke && 'custom_id' in revoke && decodeCustomId(revoke.custom_id)).toEqual({
      action: 'revoke',
      peer: 'bob-a',
    });
    expect(payload.embeds[0]?.footer?.text).toContain('1 more by /vpn review keep|revoke <peer>');
    expect(payload.embeds[0]?.description).toContain(
      'bob-f on hub1: 10.6.0.7/32, split tunnel, last handshake never',
    );
    const longest = PeerName.parse(`a${'b'.repeat(88)}`);
    expect(encodeCustomId({ action: 'revoke', peer: longest }).length).toBeLessThanOrEqual(100);
  });

  it('Discord: the report is attached as Markdown and CSV', () => {
    const payload = renderDiscord(
      Reply.parse({ kind: 'review.report', reviewId: 'v-7k3m9q', markdown: '# md', csv: 'a,b\r\n' }),
    );
    expect(payload.files.map((f) => [f.name, f.data.toString()])).toEqual([
      ['review-v-7k3m9q.md', '# md'],
      ['review-v-7k3m9q.csv', 'a,b\r\n'],
    ]);
  });

  it('Discord: /vpn review options become the command, durations in milliseconds', () => {
    expect(
      commandFromInvocation({ subcommand: 'review', options: { action: 'start', hub: 'hub1', due: '7d' } }),
    ).toEqual({
      verb: 'review',
      action: 'start',
      hub: 'hub1',
      dueMs: 7 * 86_400_000,
    });
    expect(
      commandFromInvocation({ subcommand: 'review', options: { action: 'report', id: 'v-7k3m9q' } }),
    ).toEqual({
      verb: 'review',
      action: 'report',
      reviewId: 'v-7k3m9q',
    });
    expect(() => commandFromInvocation({ subcommand: 'review', options: { action: 'keep' } })).toThrow(
      expect.objectContaining({
        code: 'INPUT_INVALID',
        message: expect.stringContaining('keep and revoke take a peer name'),
      }),
    );
  });

  it('Slack: each peer gets a section and Keep / Revoke buttons carrying its name, escaped', () => {
    const body = replyBody(ask(['bob-a']));
    const actions = body.blocks.filter((b) => b.type === 'actions');
    expect(actions).toHaveLength(1);
    const elements = (actions[0] as { elements: { action_id: string; value: string }[] }).elements;
    expect(elements.map((e) => [e.action_id, e.value])).toEqual([
      [REVIEW_KEEP_ACTION, 'bob-a'],
      [REVIEW_REVOKE_ACTION, 'bob-a'],
    ]);
    expect(JSON.stringify(body.blocks)).toContain('bob-a on hub1: 10.6.0.7/32');
  });
});
