/**
 * Who is on call now for a hub: the provider's people on the hub's schedules (mapped to chat users
 * by email, cached for `oncall.cacheFor`), merged with the static `roles.oncall`. When the provider
 * is down or answers garbage the answer says so and only the static list applies.
 */
import type { OncallConfig, RolesConfig, TunnelgateConfig } from '../config/schema.js';
import { toTunnelgateError } from '../core/errors.js';
import type { Actor } from '../domain/models/command.js';
import { rolesOf } from '../domain/roles.js';
import { type UserDirectory, userDirectory } from './directory.js';
import { OPSGENIE_API, opsgenie } from './opsgenie.js';
import { PAGERDUTY_API, pagerDuty } from './pagerduty.js';
import type { OncallProvider } from './provider.js';

/** One answer to "who is on call for this hub?". */
export interface OnCallAnswer {
  /** Chat user ids the provider has on call now (empty when it could not be asked). */
  fromProvider: ReadonlySet<string>;
  /** Why the provider's list is missing; then only `roles.oncall` applies. */
  problem: string | null;
  /** On-call emails no chat user could be found for. */
  unmapped: readonly string[];
}

/** Is `actor` on call: on the provider's list, or on the static one? */
export function isOnCall(actor: Actor, answer: OnCallAnswer, roles: RolesConfig): boolean {
  return answer.fromProvider.has(actor.id) || rolesOf(actor, roles).has('oncall');
}

/** The provider and the cached roster over it. */
export class OnCallRoster {
  private readonly cache = new Map<string, { at: number; answer: OnCallAnswer }>();

  constructor(
    readonly provider: OncallProvider,
    private readonly config: OncallConfig,
    private readonly directory: UserDirectory,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The schedules that count for `hub`. */
  schedulesFor(hub: string): readonly string[] {
    return this.config.hubSchedules[hub] ?? this.config.schedules;
  }

  /** Who is on call for `hub` now (never throws: a failure is the answer's `problem`). */
  async onCall(hub: string): Promise<OnCallAnswer> {
    const schedules = this.schedulesFor(hub);
    const key = [...schedules].sort().join(',');
    const now = this.clock().getTime();
    const cached = this.cache.get(key);
    if (cached !== undefined && now - cached.at < this.config.cacheFor) return cached.answer;
    let answer: OnCallAnswer;
    try {
      const emails = await this.provider.onCallEmails(schedules);
      const users = new Set<string>();
      const unmapped: string[] = [];
      for (const email of new Set(emails)) {
        const id = await this.directory.userByEmail(email);
        if (id === null) unmapped.push(email);
        else users.add(id);
      }
      answer = { fromProvider: users, problem: null, unmapped };
      this.cache.set(key, { at: now, answer });
    } catch (err) {
      // Not cached: the next command asks again.
      answer = { fromProvider: new Set(), problem: toTunnelgateError(err).message, unmapped: [] };
    }
    return answer;
  }
}

/**
 * The roster a config asks for; undefined without an `oncall` section, and `{ missing }` (the
 * variable's name) when the token's environment variable is empty, for the caller to refuse.
 */
export function rosterFromConfig(
  config: TunnelgateConfig,
  env: NodeJS.ProcessEnv,
  options: { fetch?: typeof fetch; clock?: () => Date } = {},
): OnCallRoster | { missing: string } | undefined {
  const oncall = config.oncall;
  if (oncall === undefined) return undefined;
  const pd = oncall.provider === 'pagerduty';
  const tokenEnv = oncall.tokenEnv ?? (pd ? 'PAGERDUTY_TOKEN' : 'OPSGENIE_API_KEY');
  const token = env[tokenEnv];
  if (token === undefined || token === '') return { missing: tokenEnv };
  const client = {
    baseUrl: oncall.apiUrl ?? (pd ? PAGERDUTY_API : OPSGENIE_API),
    token,
    timeoutMs: oncall.timeout,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  };
  const botToken = config.slack?.botToken;
  const directory = userDirectory(
    oncall.users,
    botToken === undefined
      ? undefined
      : {
          botToken,
          timeoutMs: oncall.timeout,
          ...(config.slack?.apiUrl === undefined ? {} : { apiUrl: config.slack.apiUrl }),
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        },
  );
  return new OnCallRoster(pd ? pagerDuty(client) : opsgenie(client), oncall, directory, options.clock);
}
