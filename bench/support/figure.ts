/** What each figure module reports, and what it is given to measure with. */
import type { Logger } from '../../src/core/logger.js';
import type { LabClient } from '../../src/lab/client.js';
import type { LabHub } from '../../src/lab/hub.js';

/** One measured figure: its result, its goal (if the issue sets one) and how it was measured. */
export interface Figure {
  name: string;
  result: string;
  /** The goal, or `-` when it sets none. */
  goal: string;
  /** null when there is no goal, or the figure was not measured. */
  met: boolean | null;
  /** One or two sentences: what was timed, from where to where. */
  method: string;
  /** Extra lines for BENCHMARKS.md (components, scale-downs, caveats). */
  notes?: string[];
}

/** The shared pieces a figure module runs against. */
export interface BenchEnv {
  redisUrl: string;
  logger: Logger;
  /** Lab hubs reserved for this module. */
  hubs: readonly LabHub[];
  /** Lab clients reserved for this module, if it asked for any. */
  clients?: readonly LabClient[];
}

/** Progress on stderr, so stdout keeps only the table. */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
