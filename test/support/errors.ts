/** Test helper: the TunnelgateError that `fn` throws (fails the test when it throws nothing or something else). */
import { TunnelgateError } from '../../src/core/errors.js';

export function thrownError(fn: () => unknown): TunnelgateError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TunnelgateError) return err;
    throw err;
  }
  throw new Error('expected a TunnelgateError');
}
