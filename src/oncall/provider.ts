/**
 * What Tunnelgate asks an on-call provider (PagerDuty, Opsgenie): who is on call on some schedules,
 * and whether an incident exists and is open. Every answer is parsed with a zod schema; a provider
 * that is down, slow, refuses the token or answers something else throws PROVIDER_UNAVAILABLE, so a
 * caller can never mistake garbage for a grant.
 */
import type { z } from 'zod';
import { TunnelgateError } from '../core/errors.js';

/** The providers Tunnelgate speaks to. */
export type ProviderName = 'pagerduty' | 'opsgenie';

/** An incident as the provider describes it. */
export interface Incident {
  provider: ProviderName;
  id: string;
  title: string;
  /** The incident's page at the provider, when it gives one. */
  url: string | null;
  /** The provider's own status word (triggered, acknowledged, resolved, open, closed…). */
  status: string;
  /** True while the incident is open (PagerDuty triggered/acknowledged, Opsgenie open). */
  open: boolean;
}

/** One provider's API. */
export interface OncallProvider {
  readonly name: ProviderName;
  /** The emails of everyone on call now on these schedules. */
  onCallEmails(scheduleIds: readonly string[]): Promise<string[]>;
  /** The incident, or null when the provider does not know it. */
  incident(id: string): Promise<Incident | null>;
}

/** How a client reaches its provider. */
export interface ProviderOptions {
  baseUrl: string;
  token: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

function unavailable(provider: ProviderName, what: string): TunnelgateError {
  return new TunnelgateError('PROVIDER_UNAVAILABLE', `${provider}: ${what}`);
}

/**
 * GETs `path` and parses the JSON body with `schema`. Returns null for a 404 when `allowMissing`;
 * throws PROVIDER_UNAVAILABLE for anything but a 2xx with a body the schema accepts.
 */
export async function getJson<T>(
  provider: ProviderName,
  options: ProviderOptions,
  path: string,
  headers: Record<string, string>,
  schema: z.ZodType<T>,
  allowMissing = false,
): Promise<T | null> {
  const url = `${options.baseUrl.replace(/\/+$/, '')}${path}`;
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, {
      headers: { accept: 'application/json', ...headers },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (err) {
    throw unavailable(provider, `no answer (${err instanceof Error ? err.name : 'error'})`);
  }
  if (allowMissing && response.status === 404) return null;
  if (!response.ok) throw unavailable(provider, `answered HTTP ${response.status}`);
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw unavailable(provider, 'answered something that is not JSON');
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw unavailable(
      provider,
      `answered an unexpected shape (${issue?.path.join('.') ?? ''}: ${issue?.message})`,
    );
  }
  return parsed.data;
}
