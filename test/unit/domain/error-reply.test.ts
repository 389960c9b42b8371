import { describe, expect, it } from 'vitest';
import { ErrorCode, TunnelgateError, toTunnelgateError } from '../../../src/core/errors.js';
import { DEFAULT_HINTS, errorReply } from '../../../src/domain/error-reply.js';

describe('errorReply', () => {
  it("keeps a TunnelgateError's code, message and hint", () => {
    const err = new TunnelgateError('FORBIDDEN', 'only leads can approve requests', { hint: 'ask a lead' });
    expect(errorReply(err)).toEqual({
      kind: 'error',
      code: 'FORBIDDEN',
      message: 'only leads can approve requests',
      hint: 'ask a lead',
    });
  });

  it('hides stderr and the cause', () => {
    const err = new TunnelgateError('HUB_COMMAND_FAILED', 'wg set failed on hub1', {
      hub: 'hub1',
      exitCode: 1,
      stderrTail: 'PrivateKey = c2VjcmV0 /etc/wireguard/wg0.conf: permission denied',
      cause: new Error('ssh channel closed at 10.0.0.5'),
    });
    const reply = errorReply(err);
    const text = JSON.stringify(reply);
    expect(text).not.toContain('permission denied');
    expect(text).not.toContain('c2VjcmV0');
    expect(text).not.toContain('10.0.0.5');
    expect(reply).toEqual({
      kind: 'error',
      code: 'HUB_COMMAND_FAILED',
      message: 'wg set failed on hub1',
      hint: DEFAULT_HINTS.HUB_COMMAND_FAILED,
    });
  });

  it('gives a default next step when the error has no hint', () => {
    const reply = errorReply(new TunnelgateError('HOST_KEY_MISMATCH', 'the host key of hub1 changed'));
    expect(reply.hint).toContain("ask an operator to check the hub's host key");
  });

  it('has a default hint for every code', () => {
    for (const code of ErrorCode.options) expect(DEFAULT_HINTS[code].length).toBeGreaterThan(10);
  });

  it('turns anything else into a generic INTERNAL reply without its message', () => {
    for (const thrown of [
      new Error('ECONNREFUSED 10.0.0.5:6379'),
      'boom at /srv/secret',
      { code: 'EPERM' },
      null,
    ]) {
      const reply = errorReply(thrown);
      expect(reply).toEqual({
        kind: 'error',
        code: 'INTERNAL',
        message: 'something went wrong inside Tunnelgate; operators have the details in the logs',
        hint: DEFAULT_HINTS.INTERNAL,
      });
    }
  });

  it('does not leak the message of a wrapped unknown error', () => {
    const reply = errorReply(toTunnelgateError(new Error('redis password is hunter2')));
    expect(reply.code).toBe('INTERNAL');
    expect(JSON.stringify(reply)).not.toContain('hunter2');
  });

  it('translates a serialised error from a job result', () => {
    const serialized = new TunnelgateError('SSH_TIMEOUT', 'hub1 did not answer in 10s', {
      stderrTail: 'x',
    }).toJSON();
    expect(errorReply(serialized)).toEqual({
      kind: 'error',
      code: 'SSH_TIMEOUT',
      message: 'hub1 did not answer in 10s',
      hint: DEFAULT_HINTS.SSH_TIMEOUT,
    });
  });
});
