import { describe, expect, it } from 'vitest';
import { safeName } from '../../../../src/adapters/slack/user-names.js';
import { PeerName } from '../../../../src/core/ids.js';
import { ActorName } from '../../../../src/domain/models/command.js';

describe('safeName (Slack display names for peer names)', () => {
  it('folds diacritics, lower-cases and collapses everything else to single dashes', () => {
    expect(safeName("Zoë O'Brien; rm -rf /")).toBe('zoe-o-brien-rm-rf');
    expect(safeName('Ångström  Ça-va')).toBe('angstrom-ca-va');
    expect(safeName('$(reboot)`id`')).toBe('reboot-id');
  });

  it('keeps dots and underscores but never starts or ends with a separator', () => {
    expect(safeName('..j.doe_ops..')).toBe('j.doe_ops');
    expect(safeName('-- alice --')).toBe('alice');
  });

  it('turns full-width and ligature forms into their plain letters (NFKD)', () => {
    expect(safeName('Ｂｏｂ')).toBe('bob');
    expect(safeName('ﬁona')).toBe('fiona');
  });

  it('trims to 32 characters without leaving a trailing separator', () => {
    const name = safeName(`${'a'.repeat(31)} b`);
    expect(name).toBe('a'.repeat(31));
    expect(safeName('x'.repeat(50))).toHaveLength(32);
  });

  it('gives nothing when no safe character is left (the id is used then)', () => {
    expect(safeName('')).toBeUndefined();
    expect(safeName('张伟')).toBeUndefined();
    expect(safeName('🙂 / ; ')).toBeUndefined();
  });

  it('always yields a valid actor name and peer name prefix', () => {
    for (const raw of ["Zoë O'Brien; rm -rf /", 'a\nb\tc', 'UPPER case', '.x.', '日本 Taro', '0_0']) {
      const name = safeName(raw);
      if (name === undefined) continue;
      expect(ActorName.safeParse(name).success).toBe(true);
      expect(PeerName.safeParse(`${name}-${'d'.repeat(24)}`).success).toBe(true);
    }
  });
});
