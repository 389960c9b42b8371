/**
 * What makes an access request a break-glass grant (`/vpn breakglass`): the incident it is for,
 * as the provider described it when access was given.
 */
import { z } from 'zod';

export const BreakGlassInfo = z.object({
  incident: z.object({
    provider: z.enum(['pagerduty', 'opsgenie']),
    id: z.string().min(1).max(64),
    title: z.string().max(500),
    url: z.string().max(500).nullable(),
  }),
  /** Why the asker could grant it alone: on call now, or a lead. */
  basis: z.enum(['oncall', 'lead']),
});
export type BreakGlassInfo = z.infer<typeof BreakGlassInfo>;
