/**
 * `tunnelgate hub bootstrap <hub>`: prints the hardened hub setup for one hub; with `--apply --as
 * USER` asks for it (a pending request); with `--approve ID --as LEAD` a different person, a lead,
 * approves and it runs over SSH in one exec. See `bot/bootstrap-requests.ts` for the rules.
 */
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import ssh2 from 'ssh2';
import {
  auditBootstrap,
  type BootstrapRequest,
  type BootstrapRequestOptions,
  BootstrapRequests,
  verifyBootstrap,
} from '../bot/bootstrap-requests.js';
import type { HubConfig, TunnelgateConfig } from '../config/schema.js';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { pickHub } from '../domain/hubs.js';
import { Actor } from '../domain/models/command.js';
import type { Signer } from '../domain/signer.js';
import { type BootstrapPlan, renderBootstrap, renderPlanText } from '../hub/bootstrap/bootstrap.js';
import { applyBootstrap, type BootstrapOutcome } from '../hub/bootstrap/script.js';
import { hubPrograms } from '../hub/programs/catalog.js';
import { HubConnection } from '../hub/ssh/hub-connection.js';
import type { AuditLog } from '../store/audit-log.js';
import { FirstUseKeys } from '../store/host-keys.js';
import type { RedisKeys } from '../store/keys.js';
import { startRuntime } from './runtime.js';

/** Parsed `hub bootstrap` arguments. */
export interface HubBootstrapArgs {
  hub: string;
  sshFrom: string[];
  routing: boolean;
  adminUser?: string | undefined;
  apply: boolean;
  approve?: string | undefined;
  as?: string | undefined;
}

/** What the request and approval steps need; the CLI takes them from a runtime, tests pass their own. */
export interface BootstrapDeps {
  config: TunnelgateConfig;
  redis: Redis;
  keys: RedisKeys;
  /** MACs the gate's decisions (the deployment secret's decision key). */
  signer: Signer;
  audit: AuditLog;
  logger: Logger;
  clock: () => Date;
}

/** The OpenSSH public key line of the bot's SSH key for `hub`. Throws CONFIG_INVALID. */
export async function botPublicKey(hub: HubConfig): Promise<string> {
  const parsed = ssh2.utils.parseKey(await readFile(hub.privateKeyPath).catch(() => Buffer.alloc(0)));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error)
    throw new TunnelgateError(
      'CONFIG_INVALID',
      `cannot read the SSH key ${hub.privateKeyPath} of hub "${hub.name}"`,
    );
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

/** Renders the plan for a hub with the given options. */
export async function planFor(config: TunnelgateConfig, hubName: string, options: BootstrapRequestOptions) {
  const hub = config.hubs.find((h) => h.name === pickHub(config, hubName));
  if (hub === undefined) throw new TunnelgateError('NOT_FOUND', `no hub "${hubName}"`);
  const plan = renderBootstrap(hub, { ...options, botPublicKey: await botPublicKey(hub) }, hubPrograms());
  return { hub, plan };
}

/** `--apply --as USER`: stores a pending request and audits it. */
export async function requestBootstrap(
  deps: BootstrapDeps,
  hubName: string,
  options: BootstrapRequestOptions,
  as: string,
): Promise<{ request: BootstrapRequest; plan: BootstrapPlan }> {
  const { hub, plan } = await planFor(deps.config, hubName, options);
  const request = await new BootstrapRequests(deps.redis, deps.keys).create(plan, options, as, deps.clock());
  await auditBootstrap(deps.audit, as, hub, request, 'pending');
  return { request, plan };
}

/**
 * `--approve ID --as LEAD`: checks the approval, marks the request approved, runs the bootstrap
 * over SSH and records applied or failed. Throws what the gate throws (audited as
 * refused), or the hub's error after recording the failure.
 */
export async function approveBootstrap(
  deps: BootstrapDeps,
  id: string,
  as: string,
): Promise<{ request: BootstrapRequest; outcome: BootstrapOutcome }> {
  const store = new BootstrapRequests(deps.redis, deps.keys);
  const pending = await store.get(id);
  const { hub, plan } = await planFor(deps.config, pending.hub, pending.options);
  const { roles } = deps.config;
  let approved: BootstrapRequest;
  try {
    const actor = Actor.parse({ id: as });
    approved = await store.approve(id, plan, { actor, roles, now: deps.clock(), signer: deps.signer });
    verifyBootstrap(approved, plan, roles, deps.signer);
  } catch (err) {
    await auditBootstrap(deps.audit, as, hub, pending, 'refused', toTunnelgateError(err).message);
    throw err;
  }
  const conn = new HubConnection(hub, {
    logger: deps.logger,
    firstUse: new FirstUseKeys(deps.redis, deps.keys, deps.audit, deps.clock),
  });
  try {
    const outcome = await applyBootstrap(conn, plan, pending.options.sshFrom);
    const request = await store.finish(id, { at: deps.clock() });
    await auditBootstrap(deps.audit, as, hub, request, 'ok');
    return { request, outcome };
  } catch (err) {
    const error = toTunnelgateError(err);
    deps.logger.error({ err: error, hub: hub.name, request: id }, 'hub bootstrap failed');
    await store.finish(id, { at: deps.clock(), error: error.message });
    await auditBootstrap(deps.audit, as, hub, approved, 'failed', error.message);
    throw err;
  } finally {
    await conn.close();
  }
}

/** Runs `tunnelgate hub bootstrap` and returns the exit code. */
export async function runHubBootstrap(
  config: TunnelgateConfig,
  logger: Logger,
  args: HubBootstrapArgs,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const options: BootstrapRequestOptions = {
    sshFrom: args.sshFrom,
    routing: args.routing,
    ...(args.adminUser === undefined ? {} : { adminUser: args.adminUser }),
  };
  if (args.apply && args.approve !== undefined)
    throw new TunnelgateError('INPUT_INVALID', 'use either --apply (ask) or --approve ID (approve and run)');
  if (!args.apply && args.approve === undefined) {
    out.write(renderPlanText((await planFor(config, args.hub, options)).plan));
    return 0;
  }
  if (args.as === undefined)
    throw new TunnelgateError(
      'INPUT_INVALID',
      '--apply and --approve need --as USER (who asks, who approves)',
    );
  const runtime = await startRuntime({ config, logger, worker: false });
  try {
    const deps = {
      config,
      redis: runtime.bot.redis,
      keys: runtime.bot.keys,
      signer: runtime.bot.signer,
      audit: runtime.bot.audit,
      logger,
      clock: runtime.bot.clock,
    };
    if (args.approve === undefined) {
      const { request } = await requestBootstrap(deps, args.hub, options, args.as);
      out.write(
        [
          `bootstrap request ${request.id} for hub "${request.hub}" is pending a lead's approval (until ${request.gate.until}).`,
          'It will write:',
          ...request.files.map((f) => `  ${f}`),
          `A lead other than ${request.requestedBy} approves and runs it with:`,
          `  tunnelgate hub bootstrap ${request.hub} --approve ${request.id} --as LEAD`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    const pending = await new BootstrapRequests(runtime.bot.redis, runtime.bot.keys).get(args.approve);
    if (pending.hub !== pickHub(config, args.hub))
      throw new TunnelgateError(
        'INPUT_INVALID',
        `request ${pending.id} is for hub "${pending.hub}", not "${args.hub}"`,
      );
    const { outcome } = await approveBootstrap(deps, args.approve, args.as);
    out.write(
      [
        `hub "${pending.hub}" bootstrapped (request ${pending.id}, approved by ${args.as}).`,
        `WireGuard public key: ${outcome.publicKey}`,
        ...outcome.files.map((line) => `  ${line}`),
        'Listening now:',
        outcome.listeners.trimEnd(),
        `Next: set user: tunnelgate and sudo: true for hub "${pending.hub}" in tunnelgate.yaml.`,
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await runtime.close();
  }
}
