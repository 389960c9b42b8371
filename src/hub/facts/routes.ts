/** The routing table (`ip -j route`): is the tunnel subnet routed on the WireGuard interface? */
import { z } from 'zod';
import type { Step } from '../ssh/remote-script.js';

/** Read-only step: the main IPv4 routing table. */
export function routesStep(): Step {
  return { name: 'routes', argv: ['ip', '-j', 'route', 'show'], allowFail: true };
}

/** One route. */
export interface Route {
  dst: string;
  dev: string | null;
  /** One line for evidence, like `ip route` prints it. */
  line: string;
}

const RouteItem = z.object({ dst: z.string(), dev: z.string().optional(), prefsrc: z.string().optional() });

/** Parses `ip -j route show`; [] for unreadable output. */
export function parseRoutes(stdout: string): Route[] {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return [];
  }
  const parsed = z.array(RouteItem).safeParse(data);
  if (!parsed.success) return [];
  return parsed.data.map((r) => ({
    dst: r.dst,
    dev: r.dev ?? null,
    line: [
      r.dst,
      r.dev === undefined ? '' : `dev ${r.dev}`,
      r.prefsrc === undefined ? '' : `src ${r.prefsrc}`,
    ]
      .filter(Boolean)
      .join(' '),
  }));
}
