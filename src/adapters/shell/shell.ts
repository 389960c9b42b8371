/**
 * The terminal adapter, Tunnelgate's embedded default. On a terminal it is an interactive prompt;
 * otherwise it reads one command per line from stdin, prints every reply, and at end of input
 * waits for the jobs its commands started to report before it returns.
 *
 * Lines: `/vpn …` (the `/vpn` may be left out), `as <user>` to act as another user (a terminal's
 * operator is trusted to say who they are), `wait` to wait for jobs in flight, `#` comments.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { BotContext } from '../../bot/context.js';
import { handleText } from '../../bot/dispatch.js';
import type { Outlet } from '../../bot/outlet.js';
import { TunnelgateError } from '../../core/errors.js';
import { UserId } from '../../core/ids.js';
import type { Message } from '../../domain/models/reply.js';
import { renderText } from '../common/render-text.js';

export interface ShellOptions {
  as: string;
  json: boolean;
  input: Readable;
  output: Writable;
  /** Interactive prompt (stdin is a terminal). */
  interactive: boolean;
  /** How long to wait at end of input for jobs to report (default 5 min). */
  waitMs?: number;
}

/** Prints messages and tracks which jobs have not reported their final message yet. */
export class ShellOutlet implements Outlet {
  private readonly inFlight = new Set<string>();
  private readonly finished = new Set<string>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly output: Writable,
    private readonly json: boolean,
    private readonly currentUser: () => string,
  ) {}

  /** Remembers that the shell waits for `jobId`'s final message. */
  track(jobId: string): void {
    if (!this.finished.has(jobId)) this.inFlight.add(jobId);
  }

  get pending(): number {
    return this.inFlight.size;
  }

  async deliver(message: Message): Promise<void> {
    this.print(message);
    if (message.final === true && message.jobId !== undefined) {
      this.finished.add(message.jobId);
      this.inFlight.delete(message.jobId);
      if (this.inFlight.size === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Resolves when every tracked job has reported, or rejects after `ms`. */
  async waitForJobs(ms: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new TunnelgateError(
            'SSH_TIMEOUT',
            `gave up waiting for ${this.inFlight.size} job(s) after ${ms / 1000}s`,
          ),
        );
      }, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private print(message: Message): void {
    const recipient = message.to.type === 'leads' ? 'leads' : message.to.id;
    if (this.json) {
      const line = {
        kind: message.reply.kind,
        to: recipient,
        private: message.private,
        ...idsOf(message),
        reply: message.reply,
      };
      this.output.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const text = renderText(message.reply);
    const mine = message.to.type === 'user' && message.to.id === this.currentUser();
    this.output.write(
      mine ? `${text}\n` : `${indent(`→ @${recipient}${message.private ? ' (private)' : ''}:\n${text}`)}\n`,
    );
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The ids a reply refers to, lifted to the top of a JSON line for scripts. */
function idsOf(message: Message): Record<string, string> {
  const reply = message.reply as Record<string, unknown>;
  const ids: Record<string, string> = {};
  const request = reply.request as { id?: string; peer?: string } | undefined;
  for (const [key, value] of [
    ['requestId', reply.requestId ?? request?.id],
    ['peer', reply.peer ?? request?.peer],
    ['hub', reply.hub],
    ['jobId', message.jobId ?? reply.jobId],
  ] as const) {
    if (typeof value === 'string') ids[key] = value;
  }
  return ids;
}

/** Runs a shell session until end of input. Returns the number of error replies it printed. */
export async function runShell(
  ctx: BotContext,
  outlet: ShellOutlet,
  options: ShellOptions,
  user: { id: string },
): Promise<number> {
  const lines = createInterface({
    input: options.input,
    terminal: options.interactive,
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const prompt = () => {
    if (options.interactive) options.output.write(`vpn@${user.id}> `);
  };
  let errors = 0;
  prompt();
  for await (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      prompt();
      continue;
    }
    const switchUser = /^as\s+(\S+)$/.exec(line);
    if (switchUser?.[1] !== undefined) {
      const parsed = UserId.safeParse(switchUser[1]);
      if (parsed.success) user.id = parsed.data;
      else options.output.write(`"${switchUser[1]}" is not a valid user id\n`);
      prompt();
      continue;
    }
    if (line === 'wait') {
      await outlet
        .waitForJobs(options.waitMs ?? 300_000)
        .catch((err: Error) => options.output.write(`${err.message}\n`));
      prompt();
      continue;
    }
    const messages = await handleText(ctx, { id: UserId.parse(user.id), platformRoles: [] }, line);
    for (const message of messages) {
      if (message.reply.kind === 'error') errors += 1;
      if (message.jobId !== undefined) outlet.track(message.jobId);
      await outlet.deliver({ ...message, final: false });
    }
    prompt();
  }
  await outlet.waitForJobs(options.waitMs ?? 300_000);
  return errors;
}
