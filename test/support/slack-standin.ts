/**
 * A local stand-in for Slack's cloud, speaking its documented wire format: the Web API methods the
 * adapter calls (`POST /api/<method>`, form-encoded or JSON, answering `{ ok: true, … }`), the
 * external upload URL that files.getUploadURLExternal hands out, and `response_url` endpoints.
 * `users.info` knows the users given to {@link SlackStandin.addUser} (others: `user_not_found`,
 * as Slack answers for an unknown id). It records every call, and can be told to answer one call of a method with 429 + Retry-After.
 *
 * Socket Mode: `apps.connections.open` (called with the app-level token) answers a `ws://` URL on
 * the stand-in; a client connecting there gets `{"type":"hello",…}`, then whatever envelopes
 * {@link SlackStandin.envelope} sends, and each acknowledgement it sends back
 * (`{"envelope_id", "payload"?}`) is recorded as an `ack` call.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { type WebSocket, WebSocketServer } from 'ws';

/** One recorded Web API call, upload or response_url post. */
export interface StandinCall {
  /** The Web API method (`chat.postMessage`), `upload`, `response`, or `ack` (Socket Mode). */
  method: string;
  /**
   * Parameters as received (form fields; JSON-encoded fields like `blocks` left as strings); for
   * `ack`, the acknowledgement's JSON.
   */
  params: Record<string, unknown>;
  /** For `upload`: the uploaded bytes; for `response`: the URL's id; for `ack`: the envelope id. */
  bytes?: Buffer;
  target?: string;
  /** The Web API call's `Authorization` header (whose token it used). */
  authorization?: string;
  /** True when this call was answered 429. */
  rateLimited?: boolean;
}

export interface SlackStandin {
  /** `http://127.0.0.1:PORT/api/` for `slack.apiUrl`. */
  apiUrl: string;
  calls: StandinCall[];
  /** Calls of one method (429-answered ones left out unless asked for). */
  callsTo(method: string, withRateLimited?: boolean): StandinCall[];
  /** A fresh response_url on the stand-in. */
  responseUrl(): string;
  /** Makes `users.info` (and, given `email`, `users.lookupByEmail`) know `id` with this display name (and real name, default the same). */
  addUser(id: string, displayName: string, realName?: string, email?: string): void;
  /** Answers the next call of `method` with 429 and `Retry-After: retryAfterSec`. */
  rateLimitOnce(method: string, retryAfterSec: number): void;
  /**
   * Sends a Socket Mode envelope of `type` carrying `payload` to every connected Socket Mode client;
   * returns its envelope id (its acknowledgement is recorded as an `ack` call with that target).
   * Throws when no client is connected.
   */
  envelope(type: SocketEnvelopeType, payload: Record<string, unknown>): string;
  /** Waits until a call matches (or fails after `ms`). */
  waitFor(predicate: (call: StandinCall) => boolean, ms?: number): Promise<StandinCall>;
  close(): Promise<void>;
}

/** The envelope types Slack sends over a Socket Mode connection. */
export type SocketEnvelopeType = 'slash_commands' | 'interactive';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function parseParams(
  req: IncomingMessage,
  raw: Buffer,
): Promise<{ params: Record<string, unknown>; bytes?: Buffer }> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) return { params: JSON.parse(raw.toString() || '{}') };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    const params: Record<string, unknown> = {};
    let bytes: Buffer | undefined;
    for (const [key, value] of form.entries()) {
      if (typeof value === 'string') params[key] = value;
      else bytes = Buffer.from(await value.arrayBuffer());
    }
    return bytes === undefined ? { params } : { params, bytes };
  }
  return { params: { ...parseQuery(raw.toString()) } };
}

/** Starts the stand-in on a free local port. */
export async function startSlackStandin(): Promise<SlackStandin> {
  const calls: StandinCall[] = [];
  const limits = new Map<string, number>();
  const users = new Map<string, { displayName: string; realName: string; email?: string }>();
  const waiters: Array<() => void> = [];
  let seq = 0;
  let base = '';
  const record = (call: StandinCall) => {
    calls.push(call);
    for (const wake of waiters.splice(0)) wake();
  };

  const answer = (method: string, params: Record<string, unknown>): Record<string, unknown> => {
    seq += 1;
    const ts = `1700000000.${String(seq).padStart(6, '0')}`;
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: 'https://standin.slack.com/',
          team: 'Standin',
          user: 'tunnelgate',
          team_id: 'T0STANDIN',
          user_id: 'U0BOT',
          bot_id: 'B0BOT',
        };
      case 'users.lookupByEmail': {
        const found = [...users].find(([, u]) => u.email !== undefined && u.email === params.email);
        return found === undefined
          ? { ok: false, error: 'users_not_found' }
          : { ok: true, user: { id: found[0] } };
      }
      case 'users.info': {
        const id = String(params.user);
        const user = users.get(id);
        if (user === undefined) return { ok: false, error: 'user_not_found' };
        const profile = {
          real_name: user.realName,
          real_name_normalized: user.realName,
          display_name: user.displayName,
          display_name_normalized: user.displayName,
          team: 'T0STANDIN',
        };
        return {
          ok: true,
          user: {
            id,
            team_id: 'T0STANDIN',
            name: id.toLowerCase(),
            deleted: false,
            real_name: user.realName,
            tz: 'Europe/Dublin',
            profile,
            is_admin: false,
            is_owner: false,
            is_bot: false,
            is_app_user: false,
            updated: 1700000000,
          },
        };
      }
      case 'conversations.open':
        return { ok: true, channel: { id: `D${String(params.users).replace(/^[UW]/, '')}` } };
      case 'chat.postMessage':
        return {
          ok: true,
          channel: params.channel,
          ts,
          message: { type: 'message', text: params.text, ts, bot_id: 'B0BOT' },
        };
      case 'chat.update':
        return { ok: true, channel: params.channel, ts: params.ts, text: params.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: ts };
      case 'views.open':
        return { ok: true, view: { id: `V${seq}`, type: 'modal' } };
      case 'files.getUploadURLExternal':
        return { ok: true, upload_url: `${base}upload/F${seq}`, file_id: `F${seq}` };
      case 'apps.connections.open':
        return { ok: true, url: `${base.replace(/^http/, 'ws')}link/?ticket=${randomUUID()}` };
      case 'files.completeUploadExternal': {
        const files = JSON.parse(String(params.files ?? '[]')) as Array<{ id: string; title?: string }>;
        return {
          ok: true,
          files: files.map((f) => ({ id: f.id, title: f.title ?? '', name: f.title ?? '' })),
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://standin');
      const { params, bytes } = await parseParams(req, raw);
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      if (url.pathname.startsWith('/api/')) {
        const method = url.pathname.slice('/api/'.length);
        const retryAfter = limits.get(method);
        if (retryAfter !== undefined) {
          limits.delete(method);
          record({ method, params, rateLimited: true });
          json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfter) });
          return;
        }
        const authorization = req.headers.authorization;
        record(authorization === undefined ? { method, params } : { method, params, authorization });
        json(200, answer(method, params));
        return;
      }
      if (url.pathname.startsWith('/upload/')) {
        record({
          method: 'upload',
          params,
          bytes: bytes ?? raw,
          target: url.pathname.slice('/upload/'.length),
        });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`OK - ${(bytes ?? raw).length}`);
        return;
      }
      if (url.pathname.startsWith('/response/')) {
        record({ method: 'response', params, target: url.pathname.slice('/response/'.length) });
        json(200, { ok: true });
        return;
      }
      json(404, { ok: false, error: 'not_found' });
    })().catch((err: Error) => {
      res.writeHead(500);
      res.end(err.message);
    });
  });
  const sockets = new Set<WebSocket>();
  const wss = new WebSocketServer({ server, path: '/link/' });
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', (data) => {
      const ack = JSON.parse(String(data)) as Record<string, unknown>;
      record({ method: 'ack', params: ack, target: String(ack.envelope_id) });
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: sockets.size,
        debug_info: { host: 'standin', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0TUNNELGATE' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/`;
  let responses = 0;
  return {
    apiUrl: `${base}api/`,
    calls,
    callsTo: (method, withRateLimited = false) =>
      calls.filter((c) => c.method === method && (withRateLimited || c.rateLimited !== true)),
    responseUrl: () => `${base}response/R${++responses}`,
    addUser: (id, displayName, realName = displayName, email) => {
      users.set(id, { displayName, realName, ...(email === undefined ? {} : { email }) });
    },
    rateLimitOnce: (method, retryAfterSec) => {
      limits.set(method, retryAfterSec);
    },
    envelope: (type, payload) => {
      if (sockets.size === 0) throw new Error('no Socket Mode client is connected');
      const envelopeId = randomUUID();
      const message = JSON.stringify({
        envelope_id: envelopeId,
        type,
        payload,
        // Slack takes a response in the ack of a slash command or a modal submission only.
        accepts_response_payload: type === 'slash_commands' || payload.type === 'view_submission',
      });
      for (const socket of sockets) socket.send(message);
      return envelopeId;
    },
    async waitFor(predicate, ms = 45_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = calls.find(predicate);
        if (found !== undefined) return found;
        const left = deadline - Date.now();
        if (left <= 0)
          throw new Error(
            `no matching Slack call within ${ms} ms; got: ${calls.map((c) => c.method).join(', ')}`,
          );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 500));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
