import { describe, expect, it } from 'vitest';
import { USAGE, VERBS } from '../../../src/bot/grammar.js';
import { helpText } from '../../../src/bot/help.js';

describe('helpText', () => {
  it('lists every subcommand with its usage, description and who may use it', () => {
    const text = helpText();
    for (const verb of VERBS) {
      expect(text).toContain(USAGE[verb].usage);
      expect(text).toContain(USAGE[verb].summary);
    }
    expect(text).toContain('approve a pending access request. Who: leads, never for their own requests.');
    expect(text).toContain('/vpn help request');
  });

  it('shows details and examples for one subcommand', () => {
    const text = helpText('request');
    expect(text.split('\n')[0]).toBe(USAGE.request.usage);
    expect(text).toContain('Who: everyone.');
    expect(text).toContain('--full');
    expect(text).toContain('Examples:');
    expect(text).toContain('/vpn request laptop --full --reason "on-call access from the hotel"');
  });

  it('has examples for every subcommand', () => {
    for (const verb of VERBS) expect(helpText(verb)).toMatch(new RegExp(`Examples:\\n  /vpn ${verb}`));
  });

  it('ignores the case of the topic', () => {
    expect(helpText('DENY')).toBe(helpText('deny'));
  });

  it('falls back to the overview for an unknown topic', () => {
    const text = helpText('frobnicate');
    expect(text).toContain('There is no help topic "frobnicate".');
    expect(text).toContain(USAGE.approve.usage);
  });
});
