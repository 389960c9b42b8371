/**
 * Bolt's and the Web API client's log lines, into the process's pino logger. Never below `info`:
 * at debug level the Web API client logs request bodies, which for a config upload hold a private
 * key. Free text is scrubbed of key material as well.
 */
import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import { type Logger, redactSecrets } from '../../core/logger.js';

function text(parts: unknown[]): string {
  return redactSecrets(
    parts
      .map((p) => (typeof p === 'string' ? p : p instanceof Error ? p.message : JSON.stringify(p)))
      .join(' '),
  );
}

/** A Bolt logger writing to `logger` under `component: slack`. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'slack' });
  return {
    debug: () => undefined,
    info: (...msg: unknown[]) => child.info(text(msg)),
    warn: (...msg: unknown[]) => child.warn(text(msg)),
    error: (...msg: unknown[]) => child.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}
