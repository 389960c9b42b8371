import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TunnelgateError } from '../../../../src/core/errors.js';
import { commandLine, shQuote } from '../../../../src/hub/ssh/quote.js';

const dir = mkdtempSync(join(tmpdir(), 'tg-quote-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `printf '%s\0' <quoted args>` through a real shell and returns the argv it saw. */
function throughShell(args: readonly string[], shell = '/bin/sh'): string[] {
  const out = execFileSync(shell, ['-c', commandLine(['printf', '%s\\0', ...args])], {
    cwd: dir,
    encoding: 'utf8',
  });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '',
  ' ',
  'plain',
  '-rf',
  '--',
  "'",
  "''",
  "'; touch pwned; '",
  '"; touch pwned; "',
  '; touch pwned',
  '&& touch pwned',
  '| touch pwned',
  '$(touch pwned)',
  '`touch pwned`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  '${HOME}',
  '$HOME',
  '\\',
  "\\'",
  'a\nb',
  '\ntouch pwned\n',
  '\r\n',
  '\t',
  '*',
  '~',
  '#comment',
  'a=b',
  'if',
  '!',
  '{ touch pwned; }',
  '> pwned',
  '< /etc/passwd',
  '%s%n',
  'ünïcödé ✓ 🔑',
  "it's",
  "'\"'\"'",
];

describe('shQuote', () => {
  it('wraps in single quotes and escapes embedded quotes', () => {
    expect(shQuote('abc')).toBe("'abc'");
    expect(shQuote('')).toBe("''");
    expect(shQuote("it's")).toBe("'it'\\''s'");
  });

  it('rejects NUL bytes with INPUT_INVALID', () => {
    expect(() => shQuote('a\0b')).toThrow(TunnelgateError);
    try {
      shQuote('a\0b');
    } catch (err) {
      expect((err as TunnelgateError).code).toBe('INPUT_INVALID');
    }
  });
});

describe('commandLine', () => {
  it('rejects an empty argv', () => {
    expect(() => commandLine([])).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
  });

  it.each(HOSTILE.map((s) => [JSON.stringify(s), s]))('passes %s through /bin/sh verbatim', (_, arg) => {
    expect(throughShell([arg])).toEqual([arg]);
  });

  it.each(['/bin/sh', '/bin/bash'])(
    'passes all hostile strings at once through %s; nothing extra runs',
    (shell) => {
      expect(throughShell(HOSTILE, shell)).toEqual(HOSTILE);
      expect(existsSync(join(dir, 'pwned'))).toBe(false);
    },
  );

  it('keeps a quoted reserved word or assignment from becoming syntax', () => {
    const out = execFileSync('/bin/sh', ['-c', `${commandLine(['a=b'])} 2>&1 || true`], { encoding: 'utf8' });
    expect(out).toMatch(/not found/);
  });
});
