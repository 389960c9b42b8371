/**
 * The registry of constant hub programs: name -> sh program text. Off sudo, a program runs as
 * `sh -c TEXT NAME args…`. On a hub prepared by `tunnelgate hub bootstrap`, every registered
 * program is also installed as the root-owned file `/usr/local/lib/tunnelgate/NAME`, so with
 * `hub.sudo` the step runs as `sudo -n /usr/local/lib/tunnelgate/NAME args…` and the sudoers
 * entry names that directory and nothing else (not `sh`, which would be all of root, nor `wg`,
 * which would let the bot's user rewrite any interface). Anything that needs root is therefore a
 * registered program; a plain argv step is for commands an unprivileged user may run.
 *
 * Register a program at module load (a top-level {@link registerHubProgram} call) in a module the
 * bootstrap imports (`hub/bootstrap.ts` imports `workers/hub-steps.ts`); a program registered
 * only when a step is built would be missing from the files a bootstrap installs.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Step } from '../ssh/remote-script.js';

/** Where bootstrapped hubs keep the registered programs, one file per name. */
export const HUB_PROGRAM_DIR = '/usr/local/lib/tunnelgate';

/** A program name: `tunnelgate-` and lower-case words, safe as a file name. */
const PROGRAM_NAME = /^tunnelgate-[a-z0-9][a-z0-9-]{0,40}$/;

/** One registered program. */
export interface HubProgram {
  /** `tunnelgate-…`; `$0` under `sh -c` and the installed file's name. */
  readonly name: string;
  /** The sh program; variable parts only as positional arguments. */
  readonly text: string;
  /**
   * An extended regular expression (grep -E, whole line) every line of the program's stdin must
   * match when it runs as root from the installed file; unset: the program reads no stdin there.
   */
  readonly inputLine?: string;
  /**
   * When true, an argument may also name the config file's directory or a file directly in it (no
   * symlink) where the program runs as root; otherwise the config file is the only path it takes.
   */
  readonly configDirArgs?: boolean;
  /**
   * When true, the first argument must be the hub's own WireGuard interface where the program
   * runs as root, so the bot's user cannot point it at another interface on the same host.
   */
  readonly interfaceFirst?: boolean;
}

const registry = new Map<string, HubProgram>();

/**
 * Registers a program (idempotent for the same name, text and options) and returns it. Throws
 * INTERNAL for a bad name or a name already registered with other text or options.
 */
export function registerHubProgram(
  name: string,
  text: string,
  options: { inputLine?: string; configDirArgs?: boolean; interfaceFirst?: boolean } = {},
): HubProgram {
  if (!PROGRAM_NAME.test(name)) throw new TunnelgateError('INTERNAL', `bad hub program name "${name}"`);
  const existing = registry.get(name);
  if (existing !== undefined) {
    if (
      existing.text !== text ||
      existing.inputLine !== options.inputLine ||
      existing.configDirArgs !== options.configDirArgs ||
      existing.interfaceFirst !== options.interfaceFirst
    )
      throw new TunnelgateError(
        'INTERNAL',
        `hub program "${name}" is registered twice with different text or options`,
      );
    return existing;
  }
  const program: HubProgram = {
    name,
    text,
    ...(options.inputLine === undefined ? {} : { inputLine: options.inputLine }),
    ...(options.configDirArgs === undefined ? {} : { configDirArgs: options.configDirArgs }),
    ...(options.interfaceFirst === undefined ? {} : { interfaceFirst: options.interfaceFirst }),
  };
  registry.set(name, program);
  return program;
}

/** Every registered program, by name. */
export function hubPrograms(): HubProgram[] {
  return [...registry.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** The registered program `name` when its text is exactly `text`. */
export function registeredProgram(name: string, text: string): HubProgram | undefined {
  const program = registry.get(name);
  return program?.text === text ? program : undefined;
}

/** A step that runs a registered program with positional arguments (`sh -c TEXT NAME args…`). */
export function programStep(
  stepName: string,
  program: HubProgram,
  args: readonly string[],
  options: Pick<Step, 'input' | 'allowFail'> = {},
): Step {
  return { name: stepName, argv: ['sh', '-c', program.text, program.name, ...args], ...options };
}

/**
 * The argv a step runs on a least-privilege hub: a registered `sh -c TEXT NAME args…` becomes
 * `sudo -n /usr/local/lib/tunnelgate/NAME args…`; anything else runs as it is, as the hub user
 * (an unregistered or altered program text included, so it never gets root).
 */
export function sudoArgv(argv: readonly string[]): string[] {
  const [file, flag, text, name, ...args] = argv;
  if (file === 'sh' && flag === '-c' && text !== undefined && name !== undefined) {
    if (registeredProgram(name, text) !== undefined)
      return ['sudo', '-n', `${HUB_PROGRAM_DIR}/${name}`, ...args];
  }
  return [...argv];
}
