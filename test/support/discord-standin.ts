/**
 * A local stand-in for Discord's cloud, so the real discord.js client can be tested: an HTTP
 * server for the REST routes the bot calls (answering Discord's documented JSON shapes, with
 * `GET /gateway/bot` pointing at the local gateway) and a WebSocket gateway speaking the gateway
 * protocol (Hello, Identify -> READY + GUILD_CREATE, heartbeat ACKs, Resume -> RESUMED, dispatches).
 * Everything the bot sends is recorded in one ordered log, so tests can assert what happened in
 * which order.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface StandinUser {
  id: string;
  username: string;
  /** Guild role ids. */
  roles: string[];
}

export interface RecordedFile {
  field: string;
  name: string;
  data: Buffer;
}

/** One thing the bot did: a REST request or a gateway payload it sent. */
export type Recorded =
  | {
      seq: number;
      type: 'rest';
      method: string;
      path: string;
      query: string;
      body: Record<string, unknown> | null;
      files: RecordedFile[];
    }
  | { seq: number; type: 'gateway'; op: number; d: unknown };

export type RestRecord = Extract<Recorded, { type: 'rest' }>;

export interface StandinOptions {
  applicationId: string;
  guildId: string;
  /** Text channels of the guild. */
  channels: string[];
  roles: string[];
  members: StandinUser[];
}

const DISCORD_EPOCH = 1_420_070_400_000n;
const GATEWAY_OPS = { dispatch: 0, heartbeat: 1, identify: 2, resume: 6, reconnect: 7, hello: 10, ack: 11 };

export class DiscordStandin {
  readonly log: Recorded[] = [];
  readonly bot = {
    id: '100000000000000001',
    username: 'tunnelgate',
    discriminator: '0',
    avatar: null,
    bot: true,
  };
  private seq = 0;
  private gatewaySeq = 0;
  private counter = 0n;
  private socket: WebSocket | null = null;
  private sessionId = '';
  private readonly dmChannels = new Map<string, string>();
  private readonly closedDms = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private readonly messages = new Map<string, Record<string, unknown>>();

  private constructor(
    private readonly options: StandinOptions,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {}

  /** Starts both servers on a free local port. */
  static async start(options: StandinOptions): Promise<DiscordStandin> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const standin = new DiscordStandin(options, http, wss);
    http.on('request', (req, res) => void standin.onRequest(req, res));
    wss.on('connection', (socket) => standin.onConnection(socket));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    return standin;
  }

  private get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** The REST base URL for discord.js (`rest.api`). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** REST requests recorded so far. */
  rest(): RestRecord[] {
    return this.log.filter((r): r is RestRecord => r.type === 'rest');
  }

  /**
   * Whether a user accepts direct messages from the bot. Closed, Discord still opens the DM
   * channel but refuses every message to it: 403 `Cannot send messages to this user` (50007).
   */
  setDmsOpen(userId: string, open: boolean): void {
    if (open) this.closedDms.delete(userId);
    else this.closedDms.add(userId);
  }

  /** The DM channel the stand-in opened for a user, if any. */
  dmChannelOf(userId: string): string | undefined {
    return this.dmChannels.get(userId);
  }

  /** The current state of a message the bot posted in a channel (with its edits applied). */
  message(messageId: string): Record<string, unknown> | undefined {
    return this.messages.get(messageId);
  }

  /** Messages the bot posted in a channel, oldest first. */
  posted(channelId: string): Record<string, unknown>[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId);
  }

  /** A user's member record. */
  member(id: string): StandinUser {
    const found = this.options.members.find((m) => m.id === id);
    if (found === undefined) throw new Error(`no stand-in member ${id}`);
    return found;
  }

  /** Waits until a recorded entry matches, or fails after `ms`. */
  async waitFor<T extends Recorded>(predicate: (r: Recorded) => r is T, ms?: number): Promise<T>;
  async waitFor(predicate: (r: Recorded) => boolean, ms?: number): Promise<Recorded>;
  async waitFor(predicate: (r: Recorded) => boolean, ms = 45_000): Promise<Recorded> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.log.find(predicate);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.log.map((r) => (r.type === 'rest' ? `${r.method} ${r.path}` : `op ${r.op}`));
        throw new Error(`nothing matched within ${ms} ms; recorded: ${seen.join(', ')}`);
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 500));
        this.waiters.add(wake);
      });
    }
  }

  /** Sends a dispatch (op 0) on the current gateway connection. */
  dispatch(t: string, d: unknown): void {
    if (this.socket === null) throw new Error('the bot is not connected to the stand-in gateway');
    this.send({ op: GATEWAY_OPS.dispatch, t, s: ++this.gatewaySeq, d });
  }

  /** Closes the gateway connection the way Discord does on a server-side failure (4000: resumable). */
  dropConnection(code = 4000): void {
    this.socket?.close(code, 'stand-in dropped the connection');
    this.socket = null;
  }

  /**
   * Dispatches a `/vpn <sub>` application command (interaction type 2); returns the interaction id.
   * `where` sends it from another guild (as a global registration allows) or from a DM channel.
   */
  slash(
    userId: string,
    subcommand: string,
    options: Record<string, string | number | boolean> = {},
    where: { guildId?: string; dmChannel?: string } = {},
  ): string {
    const guildId = where.guildId ?? this.options.guildId;
    const types: Record<string, number> = { string: 3, number: 4, boolean: 5 };
    const users = Object.fromEntries(
      Object.entries(options)
        .filter(([name]) => name === 'user')
        .map(([, id]) => [String(id), this.userObject(this.member(String(id)))]),
    );
    return this.interaction(
      userId,
      2,
      {
        id: '300000000000000001',
        name: 'vpn',
        type: 1,
        ...(where.dmChannel === undefined ? { guild_id: guildId } : {}),
        options: [
          {
            name: subcommand,
            type: 1,
            options: Object.entries(options).map(([name, value]) => ({
              name,
              type:
                name === 'user'
                  ? 6
                  : Number.isInteger(value) && typeof value === 'number'
                    ? 4
                    : types[typeof value],
              value,
            })),
          },
        ],
        ...(Object.keys(users).length === 0 ? {} : { resolved: { users } }),
      },
      {},
      where.dmChannel,
      guildId,
    );
  }

  /**
   * Dispatches a button click (interaction type 3) on a message the bot posted. A click in a DM
   * comes as Discord sends it there: with the `user` but no guild, member or roles.
   */
  click(userId: string, messageId: string, customId: string): string {
    const message = this.messages.get(messageId);
    if (message === undefined) throw new Error(`the bot posted no message ${messageId}`);
    const channelId = String(message.channel_id);
    const inDm = [...this.dmChannels.values()].includes(channelId);
    return this.interaction(
      userId,
      3,
      { custom_id: customId, component_type: 2 },
      { message },
      inDm ? channelId : undefined,
    );
  }

  /** Dispatches a modal submit (interaction type 5) with text input values. */
  submitModal(userId: string, customId: string, values: Record<string, string>): string {
    return this.interaction(userId, 5, {
      custom_id: customId,
      components: Object.entries(values).map(([id, value]) => ({
        type: 1,
        components: [{ type: 4, custom_id: id, value }],
      })),
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private interaction(
    userId: string,
    type: number,
    data: unknown,
    extra: Record<string, unknown> = {},
    dmChannel?: string,
    guildId = this.options.guildId,
  ): string {
    const id = this.nextId();
    const member = this.member(userId);
    const where =
      dmChannel === undefined
        ? {
            guild_id: guildId,
            channel_id: this.options.channels[0],
            channel: { id: this.options.channels[0], type: 0 },
            member: this.memberObject(member),
            guild_locale: 'en-US',
            authorizing_integration_owners: { '0': this.options.guildId },
            context: 0,
          }
        : {
            channel_id: dmChannel,
            channel: { id: dmChannel, type: 1 },
            user: this.userObject(member),
            authorizing_integration_owners: { '0': this.options.guildId },
            context: 1,
          };
    this.dispatch('INTERACTION_CREATE', {
      id,
      application_id: this.options.applicationId,
      type,
      data,
      ...where,
      token: `token-${id}-${randomBytes(8).toString('hex')}`,
      version: 1,
      app_permissions: '2248473465835073',
      locale: 'en-US',
      entitlements: [],
      ...extra,
    });
    return id;
  }

  private onConnection(socket: WebSocket): void {
    this.socket = socket;
    socket.on('message', (raw) =>
      this.onGatewayPayload(socket, JSON.parse(String(raw)) as { op: number; d: unknown }),
    );
    this.send({ op: GATEWAY_OPS.hello, d: { heartbeat_interval: 41_250 } }, socket);
  }

  private onGatewayPayload(socket: WebSocket, payload: { op: number; d: unknown }): void {
    this.record({ type: 'gateway', op: payload.op, d: payload.d });
    switch (payload.op) {
      case GATEWAY_OPS.heartbeat:
        this.send({ op: GATEWAY_OPS.ack }, socket);
        return;
      case GATEWAY_OPS.identify:
        this.sessionId = randomBytes(16).toString('hex');
        this.gatewaySeq = 0;
        this.dispatch('READY', {
          v: 10,
          user: this.bot,
          guilds: [{ id: this.options.guildId, unavailable: true }],
          session_id: this.sessionId,
          resume_gateway_url: this.gatewayUrl,
          shard: [0, 1],
          application: { id: this.options.applicationId, flags: 0 },
        });
        this.dispatch('GUILD_CREATE', this.guildObject());
        return;
      case GATEWAY_OPS.resume: {
        const d = payload.d as { session_id?: string };
        if (d.session_id !== this.sessionId) socket.close(4009, 'session unknown');
        else this.dispatch('RESUMED', {});
        return;
      }
      default:
        return;
    }
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = decodeURIComponent(url.pathname).replace(/^\/api\/v\d+/, '');
    const { body, files } = await parseBody(req, raw);
    const method = req.method ?? 'GET';
    this.record({ type: 'rest', method, path, query: url.search, body, files });
    const reply = (status: number, json?: unknown) => {
      res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
      res.end(json === undefined ? undefined : JSON.stringify(json));
    };
    const route = `${method} ${path}`;
    for (const [pattern, handle] of this.routes()) {
      const match = pattern.exec(route);
      if (match !== null) {
        const [status, json] = handle(match.slice(1).map(String), body, files);
        return reply(status, json);
      }
    }
    return reply(404, { message: `the stand-in does not serve ${route}`, code: 0 });
  }

  /** The REST routes the bot calls, with Discord's documented answers: [status, JSON body]. */
  private routes(): [
    RegExp,
    (params: string[], body: Record<string, unknown> | null, files: RecordedFile[]) => [number, unknown?],
  ][] {
    return [
      [
        /^GET \/gateway\/bot$/,
        () => [
          200,
          {
            url: this.gatewayUrl,
            shards: 1,
            session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
          },
        ],
      ],
      [/^POST \/interactions\/\d+\/[^/]+\/callback$/, () => [204]],
      [
        /^PATCH \/webhooks\/(\d+)\/([^/]+)\/messages\/(@original|\d+)$/,
        ([app, token], body) => [
          200,
          this.messageObject(`webhook-${token}`, body, { webhook_id: app, application_id: app }),
        ],
      ],
      [
        /^POST \/webhooks\/(\d+)\/([^/]+)$/,
        ([app], body) => [
          200,
          this.messageObject(this.options.channels[0] ?? '', body, { webhook_id: app, application_id: app }),
        ],
      ],
      [/^POST \/users\/@me\/channels$/, (_, body) => this.openDm(String(body?.recipient_id ?? ''))],
      [
        /^POST \/channels\/(\d+)\/messages$/,
        ([channel = ''], body, files) => {
          const known =
            this.options.channels.includes(channel) || [...this.dmChannels.values()].includes(channel);
          if (!known) return [404, { message: 'Unknown Channel', code: 10003 }];
          const closed = [...this.closedDms].some((user) => this.dmChannels.get(user) === channel);
          if (closed) return [403, { message: 'Cannot send messages to this user', code: 50007 }];
          const message = this.messageObject(channel, body, {}, files);
          this.messages.set(String(message.id), message);
          return [200, message];
        },
      ],
      [
        /^PATCH \/channels\/(\d+)\/messages\/(\d+)$/,
        ([, id = ''], body) => {
          const before = this.messages.get(id);
          if (before === undefined) return [404, { message: 'Unknown Message', code: 10008 }];
          const after = { ...before, ...body, edited_timestamp: new Date().toISOString() };
          this.messages.set(id, after);
          return [200, after];
        },
      ],
      [
        /^PUT \/applications\/(\d+)(?:\/guilds\/\d+)?\/commands$/,
        ([app], body) => [
          200,
          (Array.isArray(body) ? body : []).map((c: object) => ({
            id: this.nextId(),
            application_id: app,
            version: '1',
            ...c,
          })),
        ],
      ],
    ];
  }

  private openDm(recipient: string): [number, unknown] {
    const member = this.options.members.find((u) => u.id === recipient);
    if (member === undefined) return [400, { message: 'Cannot send messages to this user', code: 50007 }];
    let channel = this.dmChannels.get(recipient);
    if (channel === undefined) {
      channel = this.nextId();
      this.dmChannels.set(recipient, channel);
    }
    return [200, { id: channel, type: 1, last_message_id: null, recipients: [this.userObject(member)] }];
  }

  private record(
    entry:
      | Omit<Extract<Recorded, { type: 'rest' }>, 'seq'>
      | Omit<Extract<Recorded, { type: 'gateway' }>, 'seq'>,
  ): void {
    this.log.push({ seq: ++this.seq, ...entry } as Recorded);
    for (const wake of [...this.waiters]) wake();
  }

  private send(payload: object, socket: WebSocket | null = this.socket): void {
    socket?.send(JSON.stringify(payload));
  }

  /** A snowflake of the current time, as Discord makes them (discord.js reads timestamps from ids). */
  private nextId(): string {
    this.counter += 1n;
    return String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (this.counter & 0xfffn));
  }

  /** A user as Discord's API shows it. */
  userObject(user: StandinUser) {
    return {
      id: user.id,
      username: user.username,
      discriminator: '0',
      global_name: user.username,
      avatar: null,
    };
  }

  private memberObject(user: StandinUser) {
    return {
      user: this.userObject(user),
      roles: user.roles,
      joined_at: '2024-01-01T00:00:00.000Z',
      deaf: false,
      mute: false,
      flags: 0,
      permissions: '2248473465835073',
    };
  }

  private guildObject() {
    const { guildId } = this.options;
    return {
      id: guildId,
      name: 'Stand-in guild',
      icon: null,
      owner_id: this.options.members[0]?.id,
      unavailable: false,
      member_count: this.options.members.length,
      large: false,
      features: [],
      emojis: [],
      stickers: [],
      roles: [guildId, ...this.options.roles].map((id, position) => ({
        id,
        name: id === guildId ? '@everyone' : `role-${id}`,
        color: 0,
        hoist: false,
        position,
        permissions: '0',
        managed: false,
        mentionable: false,
        flags: 0,
      })),
      channels: this.options.channels.map((id, position) => ({
        id,
        type: 0,
        name: `channel-${position}`,
        position,
        permission_overwrites: [],
        guild_id: guildId,
      })),
      members: this.options.members.map((m) => this.memberObject(m)),
      threads: [],
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
    };
  }

  private messageObject(
    channelId: string,
    body: Record<string, unknown> | null,
    extra: Record<string, unknown>,
    files: RecordedFile[] = [],
  ): Record<string, unknown> {
    return {
      id: this.nextId(),
      channel_id: channelId,
      author: this.bot,
      content: typeof body?.content === 'string' ? body.content : '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: files.map((f) => ({
        id: this.nextId(),
        filename: f.name,
        size: f.data.length,
        url: 'http://127.0.0.1/x',
        proxy_url: 'http://127.0.0.1/x',
      })),
      embeds: Array.isArray(body?.embeds) ? body.embeds : [],
      components: Array.isArray(body?.components) ? body.components : [],
      pinned: false,
      type: 0,
      flags: typeof body?.flags === 'number' ? body.flags : 0,
      ...extra,
    };
  }
}

/** JSON bodies, and multipart bodies (`payload_json` + files) as discord.js sends attachments. */
async function parseBody(
  req: IncomingMessage,
  raw: Buffer,
): Promise<{ body: Record<string, unknown> | null; files: RecordedFile[] }> {
  const type = req.headers['content-type'] ?? '';
  if (raw.length === 0) return { body: null, files: [] };
  if (type.startsWith('multipart/form-data')) {
    const form = await new Request('http://127.0.0.1/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: raw,
    }).formData();
    const files: RecordedFile[] = [];
    let body: Record<string, unknown> | null = null;
    for (const [field, value] of form.entries()) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value) as Record<string, unknown>;
      } else {
        files.push({ field, name: value.name, data: Buffer.from(await value.arrayBuffer()) });
      }
    }
    return { body, files };
  }
  return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
}
