/**
 * Batches a job's hub steps into ONE exec: a POSIX sh script sent on stdin to `sh -s`, since each
 * exec costs an sshd session setup. Every argv element is quoted with {@link shQuote}, inputs
 * travel as base64, and each step's output sits between markers carrying a random nonce, so no
 * command output can forge a marker or the result of another step.
 */

import { randomBytes } from 'node:crypto';
import { type ErrorCode, TunnelgateError, tail } from '../../core/errors.js';
import { redactSecrets } from '../../core/logger.js';
import { HUB_PROGRAM_DIR } from '../../domain/hub-paths.js';
import type { ExecResult, HubConnection } from './hub-connection.js';
import { commandLine, shQuote } from './quote.js';

/** One command of a script. `argv[0]` comes from Tunnelgate code; any other element may be data. */
export interface Step {
  /** Unique within the script; keys the results. */
  name: string;
  argv: readonly string[];
  /** Bytes piped to the step's stdin (otherwise stdin is /dev/null). */
  input?: string;
  /** A non-zero exit is recorded and the script goes on, instead of stopping it. */
  allowFail?: boolean;
  /**
   * Set by `programStep`: the hub program `argv` runs (`sh -c TEXT NAME args…`). On a
   * least-privilege hub such a step runs the program's installed file under `sudo -n` instead.
   */
  program?: string;
}

/**
 * The argv a step runs on a least-privilege hub: a program step becomes
 * `sudo -n /usr/local/lib/tunnelgate/NAME args…` (only the files the bootstrap installed from the
 * catalog exist there, so nothing else can get root); any other step runs as it is, as the hub user.
 */
export function sudoArgv(step: Pick<Step, 'argv' | 'program'>): string[] {
  const [file, flag, , name, ...args] = step.argv;
  if (step.program !== undefined && file === 'sh' && flag === '-c' && name === step.program) {
    return ['sudo', '-n', `${HUB_PROGRAM_DIR}/${name}`, ...args];
  }
  return [...step.argv];
}

/** What one step produced. */
export interface StepOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A step's fate: `failed` is a non-zero exit (or a step cut short); `skipped` was never reached. */
export type StepResult =
  | ({ name: string; status: 'ok' | 'failed' } & StepOutput)
  | { name: string; status: 'skipped' };

/** The outputs of a script that succeeded, by step name; every step ran. */
export type ScriptResults = Readonly<Record<string, StepOutput>>;

/** A built script and the nonce its markers carry. */
export interface RemoteScript {
  readonly text: string;
  readonly nonce: string;
  readonly steps: readonly Step[];
}

/**
 * The hub's own last error line, for people to act on (`: hub said "wg: …"`), redacted and capped.
 * The full stderr tail stays on the error for operators' logs.
 */
function hubSaid(stderr: string): string {
  const last = stderr.trim().split('\n').filter(Boolean).at(-1);
  if (last === undefined) return '';
  const line = redactSecrets(last).slice(0, 200);
  return `: hub said "${line}"`;
}

/**
 * What a failing step's stderr says about the hub's setup when sudo refused to run a program: on a
 * bootstrapped hub it asks for a password when the program is not installed (a hub bootstrapped by
 * an older Tunnelgate) as when there is no sudoers entry at all. Retrying cannot help, so this is
 * HUB_STATE_INVALID with what to do; null for any other failure.
 */
function setupProblem(
  stderr: string,
  hub: string,
  program: string | undefined,
): { message: string; hint: string } | null {
  if (!/^sudo: a (password|terminal) is required/m.test(stderr)) return null;
  return {
    message: `sudo on hub "${hub}" refused Tunnelgate's program${program === undefined ? '' : ` ${program}`}: it is not installed there, or the hub has no sudoers entry for Tunnelgate's user`,
    hint: `ask an operator to apply \`tunnelgate hub bootstrap ${hub}\` again: it installs this version's programs and the sudoers entry (/vpn audit ${hub} lists missing programs)`,
  };
}

/**
 * HUB_COMMAND_FAILED from {@link runScript}: names the hub, the failing step, its exit code and
 * its stderr tail (HUB_STATE_INVALID when sudo refused a program, see {@link setupProblem}).
 * `steps` keeps every step's result (those after the failure are `skipped`).
 */
export class ScriptFailedError extends TunnelgateError {
  readonly steps: readonly StepResult[];

  constructor(
    message: string,
    details: { hub: string; exitCode: number; stderr: string; code?: ErrorCode; hint?: string },
    steps: StepResult[],
  ) {
    super(details.code ?? 'HUB_COMMAND_FAILED', message, {
      hub: details.hub,
      exitCode: details.exitCode,
      stderrTail: tail(details.stderr),
      ...(details.hint === undefined ? {} : { hint: details.hint }),
    });
    this.name = 'ScriptFailedError';
    this.steps = steps;
  }
}

/**
 * Builds the script: steps run in order, each with stdin from its input or /dev/null (so no step
 * can read the rest of the script), and the first failing step without `allowFail` ends the
 * script with its exit code. With `sudo`, each registered hub program (not the shell) runs as its
 * installed file under `sudo -n` and every other step as the hub user ({@link sudoArgv}), so the
 * sudoers entry names only those files. Throws INPUT_INVALID for no steps, an empty argv, a
 * duplicate step name or a NUL byte in argv.
 */
export function buildScript(steps: readonly Step[], options: { sudo?: boolean } = {}): RemoteScript {
  if (steps.length === 0)
    throw new TunnelgateError('INPUT_INVALID', 'a remote script needs at least one step');
  const names = new Set(steps.map((s) => s.name));
  if (names.size !== steps.length)
    throw new TunnelgateError('INPUT_INVALID', 'remote script step names must be unique');
  const nonce = randomBytes(16).toString('hex');
  const lines = ['# tunnelgate remote script'];
  if (steps.some((s) => s.input !== undefined)) {
    lines.push(
      `command -v base64 >/dev/null 2>&1 || { echo 'tunnelgate: base64 is missing on the hub' >&2; exit 127; }`,
    );
  }
  steps.forEach((step, i) => {
    const command = commandLine(options.sudo ? sudoArgv(step) : step.argv);
    const begin = shQuote(marker(nonce, 'begin', i));
    const end = `"${marker(nonce, 'end', i)}:$tg_rc"`;
    lines.push(
      `printf '%s\\n' ${begin}; printf '%s\\n' ${begin} >&2`,
      step.input === undefined
        ? `${command} </dev/null`
        : `printf '%s' ${shQuote(Buffer.from(step.input, 'utf8').toString('base64'))} | base64 -d | ${command}`,
      'tg_rc=$?',
      `printf '\\n%s\\n' ${end}; printf '\\n%s\\n' ${end} >&2`,
    );
    if (!step.allowFail) lines.push('[ "$tg_rc" -eq 0 ] || exit "$tg_rc"');
  });
  lines.push(`printf '%s\\n' ${shQuote(marker(nonce, 'done'))}`, 'exit 0', '');
  return { text: lines.join('\n'), nonce, steps };
}

/**
 * Splits the output of a script run into per-step results and checks them. Returns the outputs by
 * step name; throws {@link ScriptFailedError} for the first failing step without `allowFail`, or
 * when the script stopped outside any step (e.g. `sh` or `base64` missing).
 */
export function readScriptOutput(script: RemoteScript, output: ExecResult, hub: string): ScriptResults {
  const results: StepResult[] = [];
  let failure: (StepOutput & { name: string; program: string | undefined }) | undefined;
  let outAt = 0;
  let errAt = 0;
  for (const [i, step] of script.steps.entries()) {
    const out = section(output.stdout, script.nonce, i, outAt);
    if (out === undefined) {
      results.push({ name: step.name, status: 'skipped' });
      continue;
    }
    const err = section(output.stderr, script.nonce, i, errAt);
    outAt = out.next;
    errAt = err?.next ?? errAt;
    // A step cut short (no end marker) failed with whatever ended the script.
    const exitCode = out.exitCode ?? output.exitCode;
    const result = { stdout: out.body, stderr: err?.body ?? '', exitCode };
    const ok = out.exitCode === 0;
    results.push({ name: step.name, status: ok ? 'ok' : 'failed', ...result });
    if (!ok && (!step.allowFail || out.exitCode === undefined)) {
      const program = step.argv[0] === 'sh' && step.argv[1] === '-c' ? step.argv[3] : undefined;
      failure ??= { name: step.name, program, ...result };
    }
  }
  if (failure !== undefined) {
    const setup = setupProblem(failure.stderr, hub, failure.program);
    const details = { hub, exitCode: failure.exitCode, stderr: failure.stderr };
    throw setup === null
      ? new ScriptFailedError(
          `step "${failure.name}" failed on hub "${hub}" with exit code ${failure.exitCode}${hubSaid(failure.stderr)}`,
          details,
          results,
        )
      : new ScriptFailedError(
          `step "${failure.name}": ${setup.message}`,
          { ...details, code: 'HUB_STATE_INVALID', hint: setup.hint },
          results,
        );
  }
  if (!output.stdout.includes(`${marker(script.nonce, 'done')}\n`)) {
    throw new ScriptFailedError(
      `the remote script on hub "${hub}" stopped outside its steps with exit code ${output.exitCode}`,
      { hub, exitCode: output.exitCode, stderr: output.stderr },
      results,
    );
  }
  const outputs: Record<string, StepOutput> = {};
  for (const r of results) {
    if (r.status !== 'skipped')
      outputs[r.name] = { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
  }
  return outputs;
}

/**
 * Runs the steps on the hub in ONE exec (`sh -s` with the script on stdin; `sudo` per program when
 * the hub says so). Resolves with every step's output by name; throws {@link ScriptFailedError}
 * (HUB_COMMAND_FAILED) as {@link readScriptOutput} does, or the connection's SSH_* errors.
 */
export async function runScript(
  conn: HubConnection,
  steps: readonly Step[],
  options: { timeoutMs?: number } = {},
): Promise<ScriptResults> {
  const script = buildScript(steps, { sudo: conn.hub.sudo });
  const output = await conn.exec(['sh', '-s'], { input: script.text, sudo: false, ...options });
  return readScriptOutput(script, output, conn.hub.name);
}

function marker(nonce: string, kind: 'begin' | 'end' | 'done', step?: number): string {
  return step === undefined ? `tg:${nonce}:${kind}` : `tg:${nonce}:${kind}:${step}`;
}

/** Finds step `i`'s output in one stream, from `from` on. `exitCode` is undefined when cut short. */
function section(
  text: string,
  nonce: string,
  i: number,
  from: number,
): { body: string; exitCode: number | undefined; next: number } | undefined {
  const begin = `${marker(nonce, 'begin', i)}\n`;
  const start = text.indexOf(begin, from);
  if (start === -1) return undefined;
  const bodyStart = start + begin.length;
  const endMark = `\n${marker(nonce, 'end', i)}:`;
  const end = text.indexOf(endMark, bodyStart);
  if (end === -1) return { body: text.slice(bodyStart), exitCode: undefined, next: text.length };
  const codeStart = end + endMark.length;
  const lineEnd = text.indexOf('\n', codeStart);
  const next = lineEnd === -1 ? text.length : lineEnd + 1;
  return { body: text.slice(bodyStart, end), exitCode: Number(text.slice(codeStart, next).trim()), next };
}
