/**
 * The schema of `tunnelgate.yaml`: the single source of truth for configuration. Every default
 * lives here; `tunnelgate.example.yaml` documents the same keys with comments. Every object is
 * strict (`z.strictObject`): an unknown key is refused, never silently ignored.
 */
import { z } from 'zod';
import { Duration } from '../core/duration.js';
import { HubName, InterfaceName, UserId } from '../core/ids.js';
import { Cidr } from '../wg/cidr.js';

const HostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. vpn.example.com:51820');

const IpAddress = z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' });

/** Per-hub SSH tuning; the defaults suit a hub a few milliseconds away. */
export const SshTuning = z.strictObject({
  /** Key exchange + auth must finish within this (default 10 s). */
  connectTimeoutMs: z.number().int().positive().default(10_000),
  /** One remote command may run this long before it is abandoned (default 60 s). */
  commandTimeoutMs: z.number().int().positive().default(60_000),
  /** An unused connection is closed after this (default 60 s) and reopened on demand. */
  idleTimeoutMs: z.number().int().positive().default(60_000),
  /** Parallel channels on one connection; stay below sshd's MaxSessions (10). Default 8. */
  maxChannels: z.number().int().min(1).max(9).default(8),
});
export type SshTuning = z.infer<typeof SshTuning>;

/** One WireGuard hub the bot manages over SSH. */
export const HubConfig = z
  .strictObject({
    name: HubName,
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(22),
    user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a Unix user name'),
    privateKeyPath: z.string().min(1),
    /** A known_hosts file holding the hub's host key. */
    knownHosts: z.string().min(1).optional(),
    /** One pinned host key line, e.g. `ssh-ed25519 AAAA…`. */
    hostKey: z.string().min(1).optional(),
    /** Accept and record an unknown host key on first contact (in knownHosts, else in Redis). Off unless asked for. */
    trustOnFirstUse: z.boolean().default(false),
    /** Prefix hub commands with `sudo -n` (for a non-root hub user). */
    sudo: z.boolean().default(false),
    interface: InterfaceName.default(InterfaceName.parse('wg0')),
    configPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._/-]+$/, 'expected an absolute path of letters, digits, ".", "_", "-" and "/"')
      .default('/etc/wireguard/wg0.conf'),
    /** What clients dial: host:port. */
    endpoint: HostPort,
    subnet: Cidr,
    subnet6: Cidr.optional(),
    /** The hub's own tunnel address; default: the first host address of `subnet`. */
    address: IpAddress.optional(),
    dns: z.array(IpAddress).default([]),
    /** Split-tunnel AllowedIPs handed to clients; default: the hub subnet. */
    routes: z.array(Cidr).default([]),
    /** The hub's interface toward the internet, for NAT checks (default eth0). */
    egressInterface: InterfaceName.default(InterfaceName.parse('eth0')),
    ssh: SshTuning.default(SshTuning.parse({})),
  })
  .superRefine((hub, ctx) => {
    if (hub.knownHosts === undefined && hub.hostKey === undefined && !hub.trustOnFirstUse) {
      ctx.addIssue({
        code: 'custom',
        path: ['knownHosts'],
        message: 'pin the host key: set knownHosts (a known_hosts file) or hostKey (one key line)',
      });
    }
  });
export type HubConfig = z.infer<typeof HubConfig>;

/** Who may do what. Ids are chat user ids (Slack, Discord) or shell user names. */
export const RolesConfig = z.strictObject({
  leads: z.array(z.string().min(1)).default([]),
  oncall: z.array(z.string().min(1)).default([]),
});
export type RolesConfig = z.infer<typeof RolesConfig>;

/** Lifecycle policy: approvals, expiry, rotation and reminders. */
export const PolicyConfig = z.strictObject({
  approvals: z
    .strictObject({
      split: z.number().int().min(1).default(1),
      full: z.number().int().min(1).default(2),
    })
    .default({ split: 1, full: 2 }),
  /** Pending requests expire after this (default 72h). */
  requestTtl: Duration.default(72 * 3_600_000),
  /** The longest `--for` of a request and the longest extension (default 365d). */
  maxDuration: Duration.default(365 * 86_400_000),
  /** Open requests (pending, approved, provisioning) one user may have at once (default 5). */
  maxOpenRequests: z.number().int().min(1).default(5),
  /** Commands one user may run per minute, counted across every bot process (default 30). */
  commandsPerMinute: z.number().int().min(1).default(30),
  /** Keys older than this are overdue for rotation (default 90d). */
  keyMaxAge: Duration.default(90 * 86_400_000),
  /** Owners are reminded this long before keyMaxAge (default 14d). */
  reminderLead: Duration.default(14 * 86_400_000),
  /**
   * When the maintenance run goes (cron, default daily at 09:00): the reminder check, the pruning
   * of finished requests and the full audit chain check.
   */
  reminderCron: z.string().min(9).default('0 9 * * *'),
  /** A staged rotation key must handshake within this or is rolled back (default 24h). */
  rotationWindow: Duration.default(24 * 3_600_000),
  /** Peers with no handshake for this long are listed for reaping (default 30d). */
  idleAfter: Duration.default(30 * 86_400_000),
  overdueAction: z.enum(['notify', 'revoke']).default('notify'),
  overdueGrace: Duration.default(7 * 86_400_000),
  /** How long before a time-bound peer expires its owner is warned (default 1h). */
  expiryWarning: Duration.default(3_600_000),
  offboardOnLeave: z.boolean().default(false),
  /** Access reviews start on their own this often (e.g. 90d); unset (the default): only by a lead. */
  reviewEvery: Duration.optional(),
  /** Owners have this long to answer a review (default 14d); `--due` overrides it per review. */
  reviewDue: Duration.default(14 * 86_400_000),
  /** Owners who have not answered are reminded this long before the due date (default 3d). */
  reviewRemindBefore: Duration.default(3 * 86_400_000),
  /** What happens at the due date to peers nobody confirmed: flagged to the leads, or revoked. */
  reviewAction: z.enum(['flag', 'revoke']).default('flag'),
  /** How often `reconcile` runs in the background (default 1h). */
  reconcileEvery: Duration.default(3_600_000),
  /**
   * Denied, revoked, expired and failed requests (and their sealed keys) are removed this long
   * after they ended, on the scheduled `reminderCron` run; the audit log keeps every entry about
   * them (default 30d).
   */
  keepFinished: Duration.default(30 * 86_400_000),
  /** `/vpn breakglass`: default and longest grant, and grants per user in any 7 days. */
  breakGlass: z
    .strictObject({
      for: Duration.default(4 * 3_600_000),
      max: Duration.default(12 * 3_600_000),
      perWeek: z.number().int().min(1).default(3),
    })
    .default({ for: 4 * 3_600_000, max: 12 * 3_600_000, perWeek: 3 }),
});
export type PolicyConfig = z.infer<typeof PolicyConfig>;

export const RedisConfig = z.strictObject({
  /**
   * A `redis://` or `rediss://` URL, or the absolute path of a unix socket (as the embedded
   * Redis listens). Without it the process starts its own redis-server under `dataDir`.
   */
  url: z
    .string()
    .regex(
      /^(rediss?:\/\/|\/)/,
      'expected a redis:// or rediss:// URL, or the absolute path of a unix socket',
    )
    .optional(),
  /** Prefix for every key and queue (default `tg`). */
  prefix: z
    .string()
    .regex(/^[a-zA-Z0-9_-]{1,32}$/)
    .default('tg'),
});
export type RedisConfig = z.infer<typeof RedisConfig>;

export const SlackConfig = z.strictObject({
  signingSecret: z.string().min(1).optional(),
  botToken: z.string().min(1).optional(),
  appToken: z.string().min(1).optional(),
  approvalsChannel: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65_535).default(3000),
  apiUrl: z.string().optional(),
});
export type SlackConfig = z.infer<typeof SlackConfig>;

const Snowflake = z.string().regex(/^\d{1,20}$/, 'expected a Discord id (digits)');

export const DiscordConfig = z.strictObject({
  token: z.string().min(1).optional(),
  applicationId: z.string().min(1).optional(),
  /**
   * The one guild Tunnelgate serves (required): where `/vpn` is registered, whose leavers are
   * offboarded, and the only guild whose interactions run (a global registration reaches others).
   */
  guildId: z.string().min(1),
  /** Approval requests and offboarding prompts go here; without it, each lead user id gets a DM. */
  approvalsChannel: z.string().min(1).optional(),
  /** A role engineers hold; a member losing it is treated like a member leaving (offboarding hook). */
  engineerRole: Snowflake.optional(),
  /** REST base URL (default Discord's); the gateway URL comes from its `GET /gateway/bot`. */
  apiUrl: z.url().optional(),
});
export type DiscordConfig = z.infer<typeof DiscordConfig>;

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name');

/**
 * Who is on call, from PagerDuty or Opsgenie (see src/oncall/). Tokens come from the environment,
 * never from the file; the static `roles.oncall` list is merged in and is the fallback.
 */
export const OncallConfig = z.strictObject({
  provider: z.enum(['pagerduty', 'opsgenie']),
  /** API base URL (default https://api.pagerduty.com or https://api.opsgenie.com). */
  apiUrl: z.url().optional(),
  /** The environment variable holding the API token (default PAGERDUTY_TOKEN / OPSGENIE_API_KEY). */
  tokenEnv: EnvName.optional(),
  /** Schedule ids whose on-call people count, for every hub without its own list. */
  schedules: z.array(z.string().min(1).max(64)).default([]),
  /** Hub name -> schedule ids, replacing `schedules` for that hub. */
  hubSchedules: z.record(z.string(), z.array(z.string().min(1).max(64))).default({}),
  /** Email -> chat user id (Discord and the shell; with Slack, unmapped emails are looked up). */
  users: z.record(z.string(), z.string()).default({}),
  /** How long an answer of the provider is reused (default 60s). */
  cacheFor: Duration.default(60_000),
  /** A provider answer slower than this counts as down (default 5s). */
  timeout: Duration.default(5_000),
  /** The environment variable holding the webhook secret (PagerDuty signing secret / Opsgenie token). */
  webhookSecretEnv: EnvName.optional(),
  /** How often an open break-glass incident is polled, in case no webhook comes (default 1m). */
  pollEvery: Duration.default(60_000),
});
export type OncallConfig = z.infer<typeof OncallConfig>;

/** Worker process tuning. */
export const WorkerConfig = z.strictObject({
  /** A job's lock; a crashed worker's job is retried after it lapses (default 30s). */
  lockDuration: Duration.default(30_000),
  /** How often stalled jobs are looked for (default 30s). */
  stalledInterval: Duration.default(30_000),
  /** Parallel read-only tasks per worker process (default 8). */
  taskConcurrency: z.number().int().min(1).max(64).default(8),
  /** Tries per hub job before the failure is reported to people (default 5). */
  attempts: z.number().int().min(1).max(20).default(5),
  /** First retry delay of a hub job, doubled on each retry (default 2s: 2s, 4s, 8s, 16s). */
  backoff: Duration.default(2_000),
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;

/** The `/healthz` and `/metrics` HTTP endpoint of every long-running process. */
export const MetricsConfig = z.strictObject({
  /** Serve the endpoint at all (default true). */
  enabled: z.boolean().default(true),
  /** Listen address (default 127.0.0.1; use 0.0.0.0 in a container so Prometheus can scrape it). */
  host: z.string().min(1).default('127.0.0.1'),
  /** Listen port (default 9464; 0 picks a free one). */
  port: z.number().int().min(0).max(65_535).default(9464),
  /** How often a worker reads each hub's handshakes for the handshake-age gauge (default 30s). */
  handshakeRefresh: Duration.default(30_000),
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (e.g. `${METRICS_TOKEN}`). */
  token: z.string().min(16, 'metrics.token: use at least 16 characters').optional(),
  /** Export series labelled with peer names (the handshake age per peer); off by default. */
  peerLabels: z.boolean().default(false),
});
export type MetricsConfig = z.infer<typeof MetricsConfig>;

/** The whole `tunnelgate.yaml`. */
export const TunnelgateConfig = z
  .strictObject({
    redis: RedisConfig.default(RedisConfig.parse({})),
    hubs: z.array(HubConfig).min(1, 'configure at least one hub'),
    roles: RolesConfig.default({ leads: [], oncall: [] }),
    policy: PolicyConfig.default(PolicyConfig.parse({})),
    worker: WorkerConfig.default(WorkerConfig.parse({})),
    metrics: MetricsConfig.default(MetricsConfig.parse({})),
    /** Where the embedded Redis and other state live (default ./var). */
    dataDir: z.string().default('./var'),
    slack: SlackConfig.optional(),
    discord: DiscordConfig.optional(),
    oncall: OncallConfig.optional(),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.hubs.forEach((hub, i) => {
      const first = seen.get(hub.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['hubs', i, 'name'],
          message: `"${hub.name}" is already used by hubs[${first}]`,
        });
      }
      seen.set(hub.name, i);
    });
    const mapped = Object.values(config.oncall?.users ?? {});
    for (const id of config.roles.leads.concat(config.roles.oncall, mapped)) {
      if (!UserId.safeParse(id).success) {
        ctx.addIssue({ code: 'custom', path: ['roles'], message: `"${id}" is not a valid user id` });
      }
    }
    // Roles, approvals and DMs are keyed by one platform's user ids, and every bot process
    // delivers from the same notify queue: one deployment serves one chat platform.
    if (config.slack !== undefined && config.discord !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['discord'],
        message:
          'slack and discord are both configured, but one Tunnelgate serves one chat platform (roles, approvals and DMs use its user ids): keep one of the two sections',
      });
    }
  });
export type TunnelgateConfig = z.infer<typeof TunnelgateConfig>;
