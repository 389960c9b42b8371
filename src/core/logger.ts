/**
 * Structured logging (pino) for operators. Anything that looks like key material is redacted by
 * path, and {@link redactSecrets} scrubs free text, so a private key never reaches a log line.
 */
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'privateKey',
  '*.privateKey',
  '*.*.privateKey',
  'clientConfig',
  '*.clientConfig',
  'config.text',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'signingSecret',
  '*.signingSecret',
];

/** `[Interface] PrivateKey = …` lines and the like, wherever they appear in free text. */
const PRIVATE_KEY_LINE = /(PrivateKey\s*=\s*)[A-Za-z0-9+/]{42,43}=/g;

/** Removes private key values from free text (stderr tails, error messages) before logging. */
export function redactSecrets(text: string): string {
  return text.replace(PRIVATE_KEY_LINE, '$1[redacted]');
}

/**
 * Creates the process logger. Level from `LOG_LEVEL` (default `info`, `silent` under Vitest unless
 * set); output is JSON lines on stderr (or `destination`) so stdout stays free for the shell
 * adapter's replies.
 */
export function createLogger(
  options: { level?: string; name?: string; destination?: DestinationStream } = {},
): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino(
    {
      level,
      name: options.name ?? 'tunnelgate',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const mapped = args.map((a) => (typeof a === 'string' ? redactSecrets(a) : a));
          method.apply(this, mapped as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination(2),
  );
}
