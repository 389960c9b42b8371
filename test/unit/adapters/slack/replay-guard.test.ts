import { describe, expect, it } from 'vitest';
import {
  extractSignature,
  rememberForSec,
  SIGNATURE_KEY,
  TIMESTAMP_KEY,
} from '../../../../src/adapters/slack/replay-guard.js';

describe('replay guard', () => {
  it('remembers a signature until its timestamp leaves the 5-minute window, plus skew', () => {
    expect(rememberForSec(1_000, 1_000)).toBe(360);
    expect(rememberForSec(1_000, 1_200)).toBe(160);
    expect(rememberForSec(1_000, 2_000)).toBe(61);
    expect(rememberForSec(Number.NaN, 1_000)).toBe(360);
  });

  it('lifts the signature headers into the context only when both are present', () => {
    const request = { headers: { 'x-slack-signature': 'v0=abc', 'x-slack-request-timestamp': '1700000000' } };
    expect(extractSignature(request as never)).toEqual({
      [SIGNATURE_KEY]: 'v0=abc',
      [TIMESTAMP_KEY]: '1700000000',
    });
    expect(extractSignature({ headers: { 'x-slack-signature': 'v0=abc' } } as never)).toEqual({});
  });
});
