/**
 * Shell quoting for hub commands. SSH `exec` sends ONE string that the remote shell parses, so
 * every argument passes through {@link shQuote}; nothing else in Tunnelgate builds command text.
 */
import { TunnelgateError } from '../../core/errors.js';

/**
 * Quotes one argument for a POSIX shell: wraps it in single quotes and writes each embedded `'` as
 * `'\''`. Inside single quotes no character is special (`$`, backticks, `;`, `\`, newlines), so the
 * argument reaches the program byte for byte. Always quotes, even plain words, so that a word
 * such as `if` or `a=b` cannot turn into shell syntax. Throws INPUT_INVALID for a NUL byte, which
 * no argv element can carry.
 */
export function shQuote(arg: string): string {
  if (arg.includes('\0')) {
    throw new TunnelgateError('INPUT_INVALID', 'a command argument contains a NUL byte');
  }
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Joins argv into one command line with every element quoted. `argv[0]` names the program and
 * must come from Tunnelgate code, never from user input: quoting keeps data from becoming syntax,
 * but a shell builtin such as `eval` keeps its meaning. Throws INPUT_INVALID for an empty argv or
 * a NUL byte.
 */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0)
    throw new TunnelgateError('INPUT_INVALID', 'a command needs at least a program name');
  return argv.map(shQuote).join(' ');
}
