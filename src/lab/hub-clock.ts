/**
 * A lab hub whose `date +%s` reads ahead of the real clock, so a test can see the hub as it will
 * be minutes from now (a stale handshake is 180 s old) without waiting for it: the diagnose and
 * audit reads take "now" from the hub's own `date +%s`. WireGuard's handshake times are untouched.
 */
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TunnelgateError } from '../core/errors.js';
import type { LabHub } from './hub.js';

/** Puts the hub's clock back. */
export type UndoClock = () => Promise<void>;

/**
 * Makes `date +%s` on the hub print `seconds` more than the real clock: a wrapper bind-mounted
 * over /usr/bin/date inside the hub's mount namespace only (other `date` calls run unchanged).
 * Throws LAB_UNAVAILABLE when the mount fails; its undo unmounts it and may be called more than once.
 */
export async function hubClockAhead(hub: LabHub, seconds: number): Promise<UndoClock> {
  const real = join(hub.host.spec.dir, 'date.real');
  const ahead = join(hub.host.spec.dir, `date-ahead-${seconds}`);
  await copyFile('/usr/bin/date', real);
  await writeFile(
    ahead,
    `#!/bin/sh\nif [ "$#" -eq 1 ] && [ "$1" = +%s ]; then echo $(( $(${real} +%s) + ${seconds} )); exit 0; fi\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  const mounted = await hub.exec(['mount', '--bind', ahead, '/usr/bin/date']);
  if (mounted.code !== 0)
    throw new TunnelgateError('LAB_UNAVAILABLE', `lab: cannot put ${hub.name}'s clock ahead`, {
      stderrTail: mounted.stderr,
    });
  let active = true;
  return async () => {
    if (!active) return;
    active = false;
    await hub.exec(['umount', '-l', '/usr/bin/date']);
  };
}
