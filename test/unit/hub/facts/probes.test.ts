import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CONNTRACK_SH } from '../../../../src/hub/facts/probes.js';

/** Runs the program as the remote script does: sh -c PROGRAM NAME ARGS… */
function conntrack(port: string) {
  const run = spawnSync('sh', ['-c', CONNTRACK_SH, 'tunnelgate-ct', port], { encoding: 'utf8' });
  return { code: run.status, err: run.stderr };
}

describe('the conntrack hub program', () => {
  it('refuses a port that is not digits, since it goes into a grep pattern', () => {
    for (const port of ['1.+', '', '51820|22']) {
      expect(conntrack(port), port).toMatchObject({ code: 64, err: expect.stringContaining('not a port') });
    }
  });

  it('reads flows for a numeric port, succeeding even where conntrack has nothing to show', () => {
    expect(conntrack('51820').code).toBe(0);
  });
});
