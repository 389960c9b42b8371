/**
 * Constant hub programs: a name and sh program text. Off sudo, a program runs as
 * `sh -c TEXT NAME args…`. On a hub prepared by `tunnelgate hub bootstrap`, every program of the
 * catalog (`catalog.ts`, one explicit list) is installed as the root-owned file
 * `/usr/local/lib/tunnelgate/NAME`, so with `hub.sudo` the step runs as
 * `sudo -n /usr/local/lib/tunnelgate/NAME args…` and the sudoers entry names that directory and
 * nothing else (not `sh`, which would be all of root, nor `wg`, which would let the bot's user
 * rewrite any interface). Anything that needs root is therefore a program; a plain argv step is
 * for commands an unprivileged user may run.
 */
import { TunnelgateError } from '../../core/errors.js';
import type { Step } from '../ssh/remote-script.js';

/** A program name: `tunnelgate-` and lower-case words, safe as a file name. */
const PROGRAM_NAME = /^tunnelgate-[a-z0-9][a-z0-9-]{0,40}$/;

/** One hub program. */
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
  /**
   * The position (1-based) of the config file argument: where the program runs as root, that
   * argument must be the hub's pinned config path, nothing else (no relative name, no other file).
   */
  readonly configArg?: number;
  /** How many arguments the program takes, exactly, where it runs as root; unset: any number. */
  readonly arity?: number;
}

/** Options of {@link hubProgram}. */
export type HubProgramOptions = Pick<
  HubProgram,
  'inputLine' | 'configDirArgs' | 'interfaceFirst' | 'configArg' | 'arity'
>;

/**
 * Defines a program. List it in `catalog.ts`, or a least-privilege hub will not have it
 * installed and sudo refuses to run it. Throws INTERNAL for a bad name.
 */
export function hubProgram(name: string, text: string, options: HubProgramOptions = {}): HubProgram {
  if (!PROGRAM_NAME.test(name)) throw new TunnelgateError('INTERNAL', `bad hub program name "${name}"`);
  return {
    name,
    text,
    ...(options.inputLine === undefined ? {} : { inputLine: options.inputLine }),
    ...(options.configDirArgs === undefined ? {} : { configDirArgs: options.configDirArgs }),
    ...(options.interfaceFirst === undefined ? {} : { interfaceFirst: options.interfaceFirst }),
    ...(options.configArg === undefined ? {} : { configArg: options.configArg }),
    ...(options.arity === undefined ? {} : { arity: options.arity }),
  };
}

/** A step that runs a program with positional arguments (`sh -c TEXT NAME args…`). */
export function programStep(
  stepName: string,
  program: HubProgram,
  args: readonly string[],
  options: Pick<Step, 'input' | 'allowFail'> = {},
): Step {
  return {
    name: stepName,
    argv: ['sh', '-c', program.text, program.name, ...args],
    program: program.name,
    ...options,
  };
}
