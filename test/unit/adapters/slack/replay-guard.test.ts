import { describe, expect, it } from 'vitest';
import {
  extractSignature,
  refusal,
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

  it('refuses every spelling of a signature but the canonical v0= plus 64 lowercase hex digits', () => {
    const hex = 'a1'.repeat(32);
    expect(refusal(`v0=${hex}`, '1000', 1_000)).toBeUndefined();
    for (const bad of [
      `v0=${hex}=`,
      `v0=${hex}=x`,
      `v0=${hex.toUpperCase()}`,
      `v1=${hex}`,
      `v0=${hex}0`,
      ` v0=${hex}`,
    ]) {
      expect(refusal(bad, '1000', 1_000)).toBe('non-canonical signature');
    }
  });

  it('refuses a timestamp more than a minute ahead or not a plain number, and allows a minute of skew', () => {
    const sig = `v0=${'0'.repeat(64)}`;
    expect(refusal(sig, '1060', 1_000)).toBeUndefined();
    expect(refusal(sig, '1061', 1_000)).toBe('timestamp in the future');
    expect(refusal(sig, '1e3', 1_000)).toBe('malformed timestamp');
    expect(refusal(sig, '', 1_000)).toBe('malformed timestamp');
  });
});
