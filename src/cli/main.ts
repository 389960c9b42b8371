/**
 * `tunnelgate <command>`: one entry point for every process role. `tunnelgate --help` lists them.
 */
import { parseArgs } from 'node:util';
import { registerCommands } from '../adapters/discord/register.js';
import { loadConfig } from '../config/load.js';
import { TunnelgateError, toTunnelgateError } from '../core/errors.js';
import { createLogger } from '../core/logger.js';
import { runHubAdopt } from './adopt.js';
import { runDemo } from './demo.js';
import { runHubBootstrap } from './hub.js';
import { runReconcile } from './reconcile.js';
import { runServe } from './serve.js';
import { runShellCommand } from './shell.js';

const HELP = `tunnelgate — run self-hosted WireGuard hubs safely from chat

Usage: tunnelgate <command> [options]

Commands:
  shell --as USER [--json] [--no-worker]
                     a terminal session: type /vpn commands as USER (reads stdin when not a terminal)
  all                chat adapters and workers in one process
  bot                chat adapters only (workers run elsewhere; needs redis.url)
  worker             hub workers only (run any number; needs redis.url)
  hub bootstrap HUB --ssh-from CIDR [--ssh-from CIDR …] [--routing] [--admin-user NAME]
                     print the hardened hub setup (wg0.conf, nftables, sshd, the least-privilege
                     tunnelgate user and its sudoers entry, the hub programs); nothing runs
  hub bootstrap HUB … --apply --as USER
                     ask for it: a pending request (what will change) that a lead must approve
  hub bootstrap HUB --approve ID --as LEAD
                     a lead other than the requester approves; it runs over SSH in one exec
  hub adopt HUB --owners FILE --as LEAD [--dry-run] [--json]
                     put hand-made peers under management, all or none; FILE has one
                     "KEY-PREFIX OWNER DEVICE" a line; --dry-run prints what would change
  discord register [--global]
                     install /vpn as a Discord application command (in discord.guildId, or
                     --global for every guild; re-run after upgrading to update it)
  reconcile [--hub NAME] [--json]
                     compare hubs with the inventory, report drift, restore lost records
  demo               bring up a lab hub: request -> approve -> connect -> revoke, then on-call diagnose -> fix
  help               this text

Configuration: tunnelgate.yaml, or the file named by TUNNELGATE_CONFIG (see tunnelgate.example.yaml).
Logs: JSON lines on stderr, level from LOG_LEVEL (default info).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const logger = createLogger();
  switch (command) {
    case 'shell': {
      const { values } = parseArgs({
        args: rest,
        options: {
          as: { type: 'string' },
          json: { type: 'boolean', default: false },
          'no-worker': { type: 'boolean', default: false },
        },
      });
      if (values.as === undefined)
        throw new TunnelgateError('INPUT_INVALID', 'tunnelgate shell needs --as USER');
      return runShellCommand(loadConfig(), logger, {
        as: values.as,
        json: values.json,
        worker: !values['no-worker'],
      });
    }
    case 'all':
    case 'bot':
    case 'worker':
      parseArgs({ args: rest, options: {} });
      return runServe(loadConfig(), logger, command);
    case 'reconcile': {
      const { values } = parseArgs({
        args: rest,
        options: { hub: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      return runReconcile(loadConfig(), logger, values);
    }
    case 'hub': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          'ssh-from': { type: 'string', multiple: true, default: [] },
          routing: { type: 'boolean', default: false },
          'admin-user': { type: 'string' },
          apply: { type: 'boolean', default: false },
          approve: { type: 'string' },
          as: { type: 'string' },
          owners: { type: 'string' },
          'dry-run': { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
        },
      });
      const [sub, hub, ...extra] = positionals;
      if (sub === 'adopt' && hub !== undefined && extra.length === 0) {
        if (values.owners === undefined || values.as === undefined)
          throw new TunnelgateError(
            'INPUT_INVALID',
            'usage: tunnelgate hub adopt HUB --owners FILE --as LEAD',
          );
        return runHubAdopt(loadConfig(), logger, {
          hub,
          owners: values.owners,
          as: values.as,
          dryRun: values['dry-run'],
          json: values.json,
        });
      }
      if (sub !== 'bootstrap' || hub === undefined || extra.length > 0)
        throw new TunnelgateError(
          'INPUT_INVALID',
          'usage: tunnelgate hub bootstrap HUB [options]; see --help',
        );
      return runHubBootstrap(loadConfig(), logger, {
        hub,
        sshFrom: values['ssh-from'],
        routing: values.routing,
        adminUser: values['admin-user'],
        apply: values.apply,
        approve: values.approve,
        as: values.as,
      });
    }
    case 'discord': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { global: { type: 'boolean', default: false } },
      });
      if (positionals.length !== 1 || positionals[0] !== 'register')
        throw new TunnelgateError('INPUT_INVALID', 'usage: tunnelgate discord register [--global]');
      const where = await registerCommands(loadConfig(), { global: values.global });
      process.stdout.write(`registered /vpn ${where}\n`);
      return 0;
    }
    case 'demo':
      parseArgs({ args: rest, options: {} });
      // The demo's story is on stdout; only problems go to the log unless LOG_LEVEL says otherwise.
      return runDemo(createLogger({ level: process.env.LOG_LEVEL ?? 'error' }));
    default:
      process.stderr.write(`unknown command "${command}"\n\n${HELP}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const error = toTunnelgateError(err);
    process.stderr.write(
      `tunnelgate: ${error.message}\n${error.hint === undefined ? '' : `hint: ${error.hint}\n`}`,
    );
    if (error.code === 'INTERNAL')
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = error.code === 'CONFIG_INVALID' || error.code === 'INPUT_INVALID' ? 2 : 1;
  },
);
