import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../src/bot/grammar.js';

const message = (text: string) => {
  const parsed = parseCommand(text);
  return parsed.ok ? 'parsed' : parsed.reply.message;
};

describe('review grammar', () => {
  it('parses every review action', () => {
    expect(parseCommand('/vpn review start --hub hub1 --due 7d')).toEqual({
      ok: true,
      command: { verb: 'review', action: 'start', hub: 'hub1', dueMs: 7 * 86_400_000 },
    });
    expect(parseCommand('/vpn review start --due=12h')).toMatchObject({
      ok: true,
      command: { dueMs: 43_200_000 },
    });
    expect(parseCommand('/vpn review status')).toEqual({
      ok: true,
      command: { verb: 'review', action: 'status' },
    });
    expect(parseCommand('/vpn review report')).toEqual({
      ok: true,
      command: { verb: 'review', action: 'report' },
    });
    expect(parseCommand('/vpn review report v-7k3m9q')).toEqual({
      ok: true,
      command: { verb: 'review', action: 'report', reviewId: 'v-7k3m9q' },
    });
    expect(parseCommand('/vpn review keep bob-laptop')).toEqual({
      ok: true,
      command: { verb: 'review', action: 'keep', peer: 'bob-laptop' },
    });
    expect(parseCommand('/vpn review revoke bob-laptop')).toMatchObject({
      ok: true,
      command: { action: 'revoke' },
    });
  });

  it('refuses a missing or unknown action, a missing peer, stray options and arguments, with the usage', () => {
    expect(message('/vpn review')).toContain('review needs an action: start, status, report, keep, revoke');
    expect(message('/vpn review approve')).toContain('review needs an action');
    expect(message('/vpn review keep')).toBe(
      'review keep needs a peer name, e.g. /vpn review keep alice-laptop',
    );
    expect(message('/vpn review status --hub hub1')).toBe(
      'unknown option "--hub": review status takes no options',
    );
    expect(message('/vpn review start --full')).toBe(
      'unknown option "--full": review start takes --hub and --due',
    );
    expect(message('/vpn review start --due')).toBe('--due needs a value: --due DURATION');
    expect(message('/vpn review start --due 2d --due 3d')).toBe('--due is given twice; give it once');
    expect(message('/vpn review start now')).toBe(
      'unexpected argument "now": review start takes no arguments',
    );
    expect(message('/vpn review keep a-b c-d')).toBe('unexpected argument "c-d": review keep takes one');
    const bad = parseCommand('/vpn review start --due soon');
    expect(!bad.ok && bad.reply.message).toContain('"soon" is not a valid duration');
    expect(!bad.ok && bad.reply.usage).toContain('/vpn review start [--hub NAME] [--due DURATION]');
  });

  it('validates the values: peer names, hub names and review ids', () => {
    expect(message('/vpn review keep "$(id)"')).toContain('peer');
    expect(message('/vpn review start --hub Hub_1')).toContain('hub');
    expect(message('/vpn review report r-7k3m9q')).toContain('review ids look like v-7k3m9q');
  });
});
