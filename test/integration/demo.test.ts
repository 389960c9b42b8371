import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import { capturedLogger } from '../support/captured-logger.js';

const labAvailable = inject('labAvailable');

describe.skipIf(!labAvailable)(
  `npm run demo${labAvailable ? '' : ` (skipped: ${inject('labSkipReason')})`}`,
  () => {
    it('tells the lifecycle and the on-call story on the embedded defaults, and exits 0', async () => {
      const output = new PassThrough();
      let text = '';
      output.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      const code = await runDemo(capturedLogger().logger, output);
      const plain = stripVTControlCharacters(text);
      expect(plain).toContain('through the tunnel: ok');
      expect(plain).toContain('after revoke: no answer, as expected');
      // The self-approval refusal, with a lead asking.
      expect(plain).toMatch(/vpn@dave> \/vpn approve r-\S+\n.*own request/);
      expect(plain).toContain('carol proposes the fix for "ip-forward-off"');
      expect(plain).toContain('re-diagnosis after the fix: every layer passes');
      expect(plain).toContain('Demo complete');
      expect(code).toBe(0);
    });
  },
);
