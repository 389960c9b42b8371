/**
 * `useLab` gives a test file its own lab: started in beforeAll, stopped in afterAll. Where no lab
 * can run (not root, missing tools; see test/setup/global-setup.ts) the file's lab suites are
 * skipped visibly, the reason in the suite name and on stderr. Under CI=true that case already
 * failed the run in global setup.
 */

import { afterAll, beforeAll, describe, inject } from 'vitest';
import type { LabClient } from '../../src/lab/client.js';
import type { LabHub } from '../../src/lab/hub.js';
import { type Lab, type LabOptions, startLab } from '../../src/lab/lab.js';

/** A file's lab, available once beforeAll has run. */
export interface LabAccess {
  readonly available: boolean;
  /** Why the lab suites are skipped; empty when `available`. */
  readonly skipReason: string;
  /** The running lab. Throws when called outside tests or when the lab is unavailable. */
  get(): Lab;
  /** The lab's hub `index` (default the first); throws when there is none. */
  hub(index?: number): LabHub;
  /** The lab's client `index` (default the first); throws when there is none. */
  client(index?: number): LabClient;
  /** `describe`, skipped (with the reason in its name) when the lab is unavailable. */
  describe(name: string, body: () => void): void;
}

/**
 * Starts a lab with `options` for the calling file (or suite, when called inside `describe`).
 * Call it at collection time, not inside a test.
 */
export function useLab(options: LabOptions): LabAccess {
  const available = inject('labAvailable');
  const skipReason = inject('labSkipReason');
  let lab: Lab | undefined;
  if (available) {
    beforeAll(async () => {
      lab = await startLab(options);
    });
    afterAll(async () => {
      await lab?.stop();
    });
  } else {
    console.warn(`lab tests skipped: ${skipReason}`);
  }
  return {
    available,
    skipReason,
    hub(index = 0) {
      const found = this.get().hubs[index];
      if (found === undefined) throw new Error(`the lab has no hub ${index}`);
      return found;
    },
    client(index = 0) {
      const found = this.get().clients[index];
      if (found === undefined) throw new Error(`the lab has no client ${index}`);
      return found;
    },
    get() {
      if (lab === undefined) {
        throw new Error(
          available ? 'the lab is not started yet (use it inside tests)' : `no lab: ${skipReason}`,
        );
      }
      return lab;
    },
    describe(name, body) {
      describe.skipIf(!available)(available ? name : `${name} [skipped: ${skipReason}]`, body);
    },
  };
}
