/**
 * The one errors module. Every expected failure in Tunnelgate is a {@link TunnelgateError} with a
 * stable {@link ErrorCode}; the chat translator (`bot/error-reply.ts`) turns it into a reply that
 * says what to do next, while `stderrTail` and `cause` go to operators' logs only.
 */
import { z } from 'zod';

/** Stable error codes. `retryable` in {@link ERROR_META} decides BullMQ retry vs UnrecoverableError. */
export const ErrorCode = z.enum([
  'CONFIG_INVALID',
  'INPUT_INVALID',
  'KEY_INVALID',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'SUBNET_EXHAUSTED',
  'HOST_KEY_UNKNOWN',
  'HOST_KEY_MISMATCH',
  'SSH_AUTH_FAILED',
  'SSH_UNREACHABLE',
  'SSH_TIMEOUT',
  'SSH_CHANNEL',
  'HUB_COMMAND_FAILED',
  'HUB_STATE_INVALID',
  'VERIFY_FAILED',
  'LAB_UNAVAILABLE',
  'PROVIDER_UNAVAILABLE',
  'DELIVERY_FAILED',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** Whether a code is worth retrying (transient) or must fail the job at once. */
export const ERROR_META: Record<ErrorCode, { retryable: boolean }> = {
  CONFIG_INVALID: { retryable: false },
  INPUT_INVALID: { retryable: false },
  KEY_INVALID: { retryable: false },
  FORBIDDEN: { retryable: false },
  NOT_FOUND: { retryable: false },
  CONFLICT: { retryable: false },
  SUBNET_EXHAUSTED: { retryable: false },
  HOST_KEY_UNKNOWN: { retryable: false },
  HOST_KEY_MISMATCH: { retryable: false },
  SSH_AUTH_FAILED: { retryable: false },
  SSH_UNREACHABLE: { retryable: true },
  SSH_TIMEOUT: { retryable: true },
  SSH_CHANNEL: { retryable: true },
  HUB_COMMAND_FAILED: { retryable: true },
  HUB_STATE_INVALID: { retryable: false },
  VERIFY_FAILED: { retryable: true },
  LAB_UNAVAILABLE: { retryable: false },
  PROVIDER_UNAVAILABLE: { retryable: true },
  DELIVERY_FAILED: { retryable: true },
  INTERNAL: { retryable: false },
};

/** Details attached to an error; all optional. `stderrTail` is for operators, never for chat. */
export interface ErrorDetails {
  hub?: string;
  exitCode?: number;
  stderrTail?: string;
  /** What the user can do about it, shown in chat after the message. */
  hint?: string;
  cause?: unknown;
}

/** A coded, expected failure. The message is safe to show to chat users. */
export class TunnelgateError extends Error {
  readonly code: ErrorCode;
  readonly hub: string | undefined;
  readonly exitCode: number | undefined;
  readonly stderrTail: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TunnelgateError';
    this.code = code;
    this.hub = details.hub;
    this.exitCode = details.exitCode;
    this.stderrTail = details.stderrTail;
    this.hint = details.hint;
  }

  /** True when a retry (with backoff) may succeed. */
  get retryable(): boolean {
    return ERROR_META[this.code].retryable;
  }

  /** Plain-data form, safe to put in job results and Redis (no stack, no cause). */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.hub === undefined ? {} : { hub: this.hub }),
      ...(this.exitCode === undefined ? {} : { exitCode: this.exitCode }),
      ...(this.hint === undefined ? {} : { hint: this.hint }),
    };
  }
}

/** The serialised shape of a {@link TunnelgateError}, as stored in job results. */
export const SerializedError = z.object({
  code: ErrorCode,
  message: z.string(),
  hub: z.string().optional(),
  exitCode: z.number().int().optional(),
  hint: z.string().optional(),
});
export type SerializedError = z.infer<typeof SerializedError>;

/** Wraps anything thrown into a TunnelgateError (unknown errors become INTERNAL). */
export function toTunnelgateError(err: unknown): TunnelgateError {
  if (err instanceof TunnelgateError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TunnelgateError('INTERNAL', `internal error: ${message}`, { cause: err });
}

/** Keeps the last `maxLines` lines (and at most `maxChars` characters) of a command's stderr. */
export function tail(text: string, maxLines = 10, maxChars = 2000): string {
  const lines = text.trimEnd().split('\n');
  const kept = lines.slice(-maxLines).join('\n');
  return kept.length > maxChars ? kept.slice(-maxChars) : kept;
}
