import { describe, expect, it } from 'vitest';
import { PolicyConfig } from '../../../src/config/schema.js';
import { ReviewId } from '../../../src/core/ids.js';
import { removalProblem } from '../../../src/domain/authority.js';
import { Actor } from '../../../src/domain/models/command.js';
import { PeerRecord } from '../../../src/domain/models/peer.js';
import type { Review } from '../../../src/domain/models/review.js';
import { answerItem, closeItem, newReview, progress } from '../../../src/domain/review.js';
import { reviewCsv } from '../../../src/domain/review-report.js';

const roles = { leads: ['alice'], oncall: [] };
const start = new Date('2026-01-01T00:00:00.000Z');
const DAY = 86_400_000;
const at = (ms: number) => new Date(start.getTime() + ms);
const actor = (id: string) => Actor.parse({ id });
const record = (owner: string, device: string, n: number) =>
  PeerRecord.parse({
    peer: `${owner}-${device}`,
    owner,
    device,
    hub: 'hub1',
    publicKey: Buffer.alloc(32, n).toString('base64'),
    address: `10.6.0.${n + 2}/32`,
    mode: 'split',
    requestId: `r-${String(n).repeat(6)}`,
    createdAt: '2025-12-01T00:00:00.000Z',
    expiresAt: null,
  });
const records = [record('bob', 'laptop', 1), record('carol', 'phone', 2), record('erin', 'tablet', 3)];
const fresh = (): Review =>
  newReview({
    id: ReviewId.parse('v-abcdef'),
    records,
    departed: new Set(['erin']),
    startedBy: 'alice',
    now: start,
    dueMs: 10 * DAY,
  });
/** The review with `who`'s answer for `peer` (as the store applies it, item by item). */
function answer(
  review: Review,
  peer: string,
  verdict: 'keep' | 'revoke',
  who: Actor,
  _roles: typeof roles,
  now: Date,
): Review {
  const item = review.items.find((i) => i.peer === peer);
  if (item === undefined) throw Object.assign(new Error(`${peer} is not in review`), { code: 'NOT_FOUND' });
  const answered = answerItem(review, item, verdict, who, roles, now);
  return { ...review, items: review.items.map((i) => (i === item ? answered : i)) };
}
/** The review closed at `now`, each item settled as the worker's close does. */
function close(
  review: Review,
  now: Date,
  action: 'flag' | 'revoke',
  present: (i: Review['items'][number]) => boolean,
): Review {
  const items = review.items.map((i) => closeItem(i, action, present(i), now));
  return { ...review, state: 'closed', closedAt: now.toISOString(), action, items };
}
const policy = (reviewAction: 'flag' | 'revoke') => PolicyConfig.parse({ reviewAction });
const removal = (
  review: Review,
  by: string,
  rec: PeerRecord,
  now: Date,
  action: 'flag' | 'revoke' = 'revoke',
) => removalProblem({ cause: 'review', by }, rec, { roles, policy: policy(action) }, now, { review });

describe('access review rules', () => {
  it('asks owners about their peers and the leads about the peers of people who left', () => {
    const review = fresh();
    expect(review.items.map((i) => [i.peer, i.reviewer])).toEqual([
      ['bob-laptop', 'owner'],
      ['carol-phone', 'owner'],
      ['erin-tablet', 'leads'],
    ]);
    expect(review.dueAt).toBe('2026-01-11T00:00:00.000Z');
  });

  it('takes one answer per peer, only from its reviewer, only while open', () => {
    const review = fresh();
    expect(() => answer(review, 'bob-laptop', 'keep', actor('carol'), roles, at(1))).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN', message: 'only bob answers the review of bob-laptop' }),
    );
    expect(() => answer(review, 'bob-laptop', 'keep', actor('alice'), roles, at(1))).toThrow(
      expect.objectContaining({ code: 'FORBIDDEN' }),
    );
    expect(() => answer(review, 'erin-tablet', 'keep', actor('erin'), roles, at(1))).toThrow(
      expect.objectContaining({
        code: 'FORBIDDEN',
        message: 'erin has left: only a lead answers the review of erin-tablet',
      }),
    );
    const kept = answer(review, 'bob-laptop', 'keep', actor('bob'), roles, at(1));
    expect(kept.items[0]).toMatchObject({ decision: { verdict: 'keep', by: 'bob' }, outcome: 'kept' });
    expect(() => answer(kept, 'bob-laptop', 'revoke', actor('bob'), roles, at(2))).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
    const byLead = answer(kept, 'erin-tablet', 'revoke', actor('alice'), roles, at(2));
    expect(byLead.items[2]).toMatchObject({
      decision: { verdict: 'revoke', by: 'alice' },
      outcome: 'revoke-queued',
    });
    const closed = close(byLead, at(10 * DAY), 'flag', () => true);
    expect(() => answer(closed, 'carol-phone', 'keep', actor('carol'), roles, at(10 * DAY + 1))).toThrow(
      expect.objectContaining({ code: 'CONFLICT' }),
    );
  });

  it('closes only the unanswered peers: flagged, queued for revocation, or gone', () => {
    const review = answer(fresh(), 'bob-laptop', 'keep', actor('bob'), roles, at(1));
    const flagged = close(review, at(10 * DAY), 'flag', () => true);
    expect(flagged.items.map((i) => i.outcome)).toEqual(['kept', 'flagged', 'flagged']);
    const revoked = close(review, at(10 * DAY), 'revoke', (i) => i.peer !== 'erin-tablet');
    expect(revoked.items.map((i) => i.outcome)).toEqual(['kept', 'revoke-queued', 'gone']);
    expect(revoked.state).toBe('closed');
    expect(progress(revoked)).toEqual([
      { reviewer: 'bob', total: 1, kept: 1, revoked: 0, unanswered: 0 },
      { reviewer: 'carol', total: 1, kept: 0, revoked: 0, unanswered: 1 },
      { reviewer: 'leads', total: 1, kept: 0, revoked: 0, unanswered: 1 },
    ]);
  });

  it('lets the worker remove a peer only as the review says', () => {
    const [bob, carol, erin] = records as [PeerRecord, PeerRecord, PeerRecord];
    let review = answer(fresh(), 'bob-laptop', 'keep', actor('bob'), roles, at(1));
    review = answer(review, 'erin-tablet', 'revoke', actor('alice'), roles, at(2));
    expect(removal(review, 'alice', erin, at(3))).toBeNull();
    expect(removal(review, 'bob', erin, at(3))).toBe('bob did not answer revoke for erin-tablet');
    expect(removal(review, 'access-review', carol, at(3))).toBe('review v-abcdef is not past its due date');
    const closed = close(review, at(10 * DAY), 'revoke', () => true);
    expect(removal(closed, 'access-review', carol, at(10 * DAY))).toBeNull();
    expect(removal(closed, 'access-review', carol, at(10 * DAY), 'flag')).toBe(
      'policy.reviewAction is not revoke',
    );
    expect(removal(closed, 'access-review', bob, at(10 * DAY))).toBe(
      'bob confirmed bob-laptop in review v-abcdef',
    );
    expect(removal(closed, 'access-review', { ...carol, owner: 'dave' } as PeerRecord, at(10 * DAY))).toBe(
      'carol-phone changed owner since review v-abcdef started',
    );
    expect(
      removalProblem({ cause: 'review', by: 'x' }, carol, { roles, policy: policy('revoke') }, at(0)),
    ).toBe('there is no review behind the removal of carol-phone');
  });

  it('writes CSV a spreadsheet cannot read as a formula', () => {
    const review = fresh();
    const csv = reviewCsv({
      ...review,
      startedBy: 'x',
      items: [{ ...review.items[0], address: '=HYPERLINK("x")' } as never],
    });
    expect(csv.split('\r\n')[1]).toContain(`"'=HYPERLINK(""x"")"`);
  });
});
