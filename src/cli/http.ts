/**
 * The HTTP endpoint of every long-running process: `GET /healthz` (200 healthy, 503 not, with a
 * small JSON body) and `GET /metrics` (Prometheus text; with `metrics.token`, only for
 * `Authorization: Bearer <token>`), and with `oncall.webhookSecretEnv` set,
 * `POST /webhooks/pagerduty|opsgenie` (bot/incident-webhook.ts). Served on `metrics.host:metrics.port`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookAnswer, WebhookCall } from '../bot/incident-webhook.js';
import type { Logger } from '../core/logger.js';
import type { HealthReport } from '../observability/health.js';

/** What the endpoint serves. */
export interface HttpSources {
  health(): Promise<HealthReport>;
  metrics: { render(): Promise<string>; readonly contentType: string };
  /** The on-call provider's webhook, when configured. */
  webhook?: (call: WebhookCall) => Promise<WebhookAnswer>;
}

/** A webhook body larger than this is refused unread. */
const MAX_WEBHOOK_BYTES = 256 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_WEBHOOK_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function routeWebhook(sources: HttpSources, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const provider = /^\/webhooks\/(pagerduty|opsgenie)$/.exec((req.url ?? '/').split('?')[0] ?? '')?.[1];
  if (sources.webhook === undefined || provider === undefined) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const body = await readBody(req);
  if (body === null) {
    res.writeHead(413, { 'content-type': 'text/plain' }).end('body too large\n');
    return;
  }
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : value,
    ]),
  );
  const answer = await sources.webhook({ provider: provider as WebhookCall['provider'], headers, body });
  res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(`${answer.text}\n`);
}

/** A listening endpoint. */
export interface HttpEndpoint {
  /** `http://host:port` it listens on. */
  url: string;
  close(): Promise<void>;
}

/**
 * Listens on host:port (port 0: any free one). Rejects with the listen error (e.g. EADDRINUSE).
 */
export async function startHttpServer(
  sources: HttpSources,
  options: { host: string; port: number; logger: Logger; token?: string },
): Promise<HttpEndpoint> {
  const { logger, token } = options;
  const server = createServer((req, res) => {
    route(sources, req, res, token).catch((err: unknown) => {
      logger.error({ err, url: req.url }, 'http endpoint failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.listen(options.port, options.host);
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([err]) => {
      throw err;
    }),
  ]);
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  logger.info({ host: address, port }, 'serving /healthz and /metrics');
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** True when the request carries `Bearer <token>` (compared in constant time). */
function authorized(req: IncomingMessage, token: string): boolean {
  const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), digest(token));
}

async function route(
  sources: HttpSources,
  req: IncomingMessage,
  res: ServerResponse,
  token: string | undefined,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method === 'POST') return routeWebhook(sources, req, res);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz': {
      const report = await sources.health();
      res
        .writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(`${JSON.stringify(report)}\n`);
      return;
    }
    case '/metrics': {
      if (token !== undefined && !authorized(req, token)) {
        res
          .writeHead(401, { 'www-authenticate': 'Bearer realm="tunnelgate"', 'content-type': 'text/plain' })
          .end('unauthorized: send Authorization: Bearer <metrics.token>\n');
        return;
      }
      const text = await sources.metrics.render();
      res.writeHead(200, { 'content-type': sources.metrics.contentType }).end(text);
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  }
}
