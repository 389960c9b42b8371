/** Counts the SSH execs one hub connection runs, to check that a job batches its commands. */
import type { HubConnection } from '../../src/hub/ssh/hub-connection.js';

/** Wraps `conn.exec` until `restore()`; `count()` is the number of execs since. */
export function countExecs(conn: HubConnection): { count(): number; restore(): void } {
  const exec = conn.exec.bind(conn);
  let execs = 0;
  conn.exec = (argv, options) => {
    execs++;
    return exec(argv, options);
  };
  return {
    count: () => execs,
    restore: () => {
      conn.exec = exec;
    },
  };
}
