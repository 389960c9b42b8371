/** A debug-level logger whose output a test can read back (errors, stderr tails, warnings). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/core/logger.js';

/** The logger, and everything it has written so far as one string. */
export function capturedLogger(): { logger: Logger; log: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), log: () => chunks.join('') };
}
