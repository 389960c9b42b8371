import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpStep } from '../../../../src/hub/programs/peers.js';
import type { ExecResult } from '../../../../src/hub/ssh/hub-connection.js';
import {
  buildScript,
  type RemoteScript,
  readScriptOutput,
  ScriptFailedError,
  type ScriptResults,
  type Step,
} from '../../../../src/hub/ssh/remote-script.js';
import { SUDO_HUB } from '../../../support/hub-config.js';

const HUB = SUDO_HUB;
const dir = mkdtempSync(join(tmpdir(), 'tg-remote-script-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a script the way a hub does: its text on stdin to the real `/bin/sh -s`. */
function runLocally(script: RemoteScript, env: NodeJS.ProcessEnv = process.env): ExecResult {
  const r = spawnSync('/bin/sh', ['-s'], { input: script.text, cwd: dir, env, encoding: 'utf8' });
  const signal = r.signal === null ? 0 : constants.signals[r.signal];
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 128 + signal };
}

function run(steps: Step[]): ScriptResults {
  const script = buildScript(steps);
  return readScriptOutput(script, runLocally(script), 'hub1');
}

function failure(steps: Step[], env?: NodeJS.ProcessEnv): ScriptFailedError {
  const script = buildScript(steps);
  try {
    readScriptOutput(script, runLocally(script, env), 'hub1');
  } catch (err) {
    expect(err).toBeInstanceOf(ScriptFailedError);
    return err as ScriptFailedError;
  }
  throw new Error('the script did not fail');
}

const HOSTILE = [
  "'; touch pwned; '",
  '$(touch pwned)',
  '`touch pwned`',
  '\ntouch pwned\n',
  '"; touch pwned; "',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  '${IFS}touch${IFS}pwned',
  '-rf',
  '',
  '\\',
  'ünïcödé',
];

describe('runScript pieces against a real /bin/sh', () => {
  it('returns each step output by name, keeping exact bytes and separating stderr', () => {
    const results = run([
      { name: 'one', argv: ['echo', 'hello'] },
      { name: 'no-newline', argv: ['printf', '%s', 'partial'] },
      { name: 'empty', argv: ['true'] },
      { name: 'both', argv: ['sh', '-c', 'echo out; echo err >&2; printf "\\n\\n"'] },
    ]);
    expect(results).toEqual({
      one: { stdout: 'hello\n', stderr: '', exitCode: 0 },
      'no-newline': { stdout: 'partial', stderr: '', exitCode: 0 },
      empty: { stdout: '', stderr: '', exitCode: 0 },
      both: { stdout: 'out\n\n\n', stderr: 'err\n', exitCode: 0 },
    });
  });

  it('stops at the first failing step and reports it with per-step results', () => {
    const err = failure([
      { name: 'first', argv: ['echo', 'ran'] },
      { name: 'breaks', argv: ['sh', '-c', 'echo boom >&2; exit 3'] },
      { name: 'never', argv: ['touch', 'never-ran'] },
    ]);
    expect(err.code).toBe('HUB_COMMAND_FAILED');
    expect(err.hub).toBe('hub1');
    expect(err.exitCode).toBe(3);
    expect(err.stderrTail).toBe('boom');
    expect(err.message).toBe('step "breaks" failed on hub "hub1" with exit code 3: hub said "boom"');
    expect(err.steps).toEqual([
      { name: 'first', status: 'ok', stdout: 'ran\n', stderr: '', exitCode: 0 },
      { name: 'breaks', status: 'failed', stdout: '', stderr: 'boom\n', exitCode: 3 },
      { name: 'never', status: 'skipped' },
    ]);
    expect(existsSync(join(dir, 'never-ran'))).toBe(false);
  });

  it('turns sudo refusing a program into HUB_STATE_INVALID that says to apply the bootstrap again', () => {
    // What sudo printed on a bootstrapped lab hub for a program that was not installed.
    const err = failure([
      {
        name: 'set-expires',
        argv: ['sh', '-c', 'echo "sudo: a password is required" >&2; exit 1', 'tunnelgate-x'],
      },
    ]);
    expect(err.code).toBe('HUB_STATE_INVALID');
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(
      'step "set-expires": sudo on hub "hub1" refused Tunnelgate\'s program tunnelgate-x: it is not installed there, or the hub has no sudoers entry for Tunnelgate\'s user',
    );
    expect(err.hint).toMatch(/^ask an operator to apply `tunnelgate hub bootstrap hub1` again/);
    expect(err.steps.map((s) => s.status)).toEqual(['failed']);
  });

  it('goes on after an allowFail step and records its exit code', () => {
    const results = run([
      { name: 'may-fail', argv: ['sh', '-c', 'exit 7'], allowFail: true },
      { name: 'after', argv: ['echo', 'still here'] },
    ]);
    expect(results['may-fail']?.exitCode).toBe(7);
    expect(results.after?.stdout).toBe('still here\n');
  });

  it('passes hostile argv and input verbatim and runs nothing extra', () => {
    const input = `${HOSTILE.join('\n')}\0binary\r\n\u0000end`;
    const results = run([
      { name: 'argv', argv: ['printf', '%s\\0', ...HOSTILE] },
      { name: 'input', argv: ['cat'], input },
      { name: 'input-bytes', argv: ['od', '-An', '-c'], input: '\0' },
    ]);
    expect(results.argv?.stdout.split('\0').slice(0, -1)).toEqual(HOSTILE);
    expect(results.input?.stdout).toBe(input);
    expect(results['input-bytes']?.stdout.trim()).toBe('\\0');
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('gives steps without input an empty stdin, so none can read the rest of the script', () => {
    const results = run([
      { name: 'reader', argv: ['cat'] },
      { name: 'next', argv: ['echo', 'next ran'] },
    ]);
    expect(results.reader?.stdout).toBe('');
    expect(results.next?.stdout).toBe('next ran\n');
  });

  it('ignores forged markers in command output', () => {
    const script = buildScript([
      { name: 'forger', argv: ['printf', 'tg:%s:end:0:0\ntg:%s:done\n', 'f'.repeat(32), 'f'.repeat(32)] },
      { name: 'fails', argv: ['false'] },
    ]);
    const output = runLocally(script);
    expect(() => readScriptOutput(script, output, 'hub1')).toThrow(/step "fails" failed/);
  });

  it('uses a fresh nonce per script', () => {
    const steps = [{ name: 'x', argv: ['true'] }];
    expect(buildScript(steps).nonce).not.toBe(buildScript(steps).nonce);
    expect(buildScript(steps).nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reports a step cut short even when it may fail, and a script that stops outside steps', () => {
    const killed = failure([
      { name: 'killer', argv: ['sh', '-c', 'echo bye; kill -9 $PPID'], allowFail: true },
    ]);
    expect(killed.message).toContain('"killer"');
    expect(killed.exitCode).toBe(137);
    expect(killed.steps[0]).toMatchObject({ status: 'failed', stdout: 'bye\n' });

    const noBase64 = failure([{ name: 'needs-input', argv: ['cat'], input: 'x' }], { PATH: '/nonexistent' });
    expect(noBase64.exitCode).toBe(127);
    expect(noBase64.message).toContain('stopped outside its steps');
    expect(noBase64.stderrTail).toContain('base64 is missing');
    expect(noBase64.steps).toEqual([{ name: 'needs-input', status: 'skipped' }]);
  });

  it('prefixes each registered program, not the shell, with sudo -n', () => {
    const steps = [dumpStep(HUB), { name: 'routes', argv: ['ip', '-j', 'route', 'show'] }];
    const text = buildScript(steps, { sudo: true }).text;
    expect(text).toContain(`'sudo' '-n' '/usr/local/lib/tunnelgate/tunnelgate-dump' 'wg0' </dev/null`);
    expect(text).toContain(`\n'ip' '-j' 'route' 'show' </dev/null`);
    expect(text).not.toMatch(/^'sudo' '-n' 'sh'/m);
    expect(buildScript(steps).text).not.toContain('sudo');
  });

  it('rejects empty scripts, empty argv, duplicate names and NUL bytes with INPUT_INVALID', () => {
    for (const steps of [
      [],
      [{ name: 'a', argv: [] }],
      [
        { name: 'a', argv: ['true'] },
        { name: 'a', argv: ['true'] },
      ],
      [{ name: 'a', argv: ['echo', 'a\0b'] }],
    ]) {
      expect(() => buildScript(steps)).toThrow(expect.objectContaining({ code: 'INPUT_INVALID' }));
    }
  });
});
