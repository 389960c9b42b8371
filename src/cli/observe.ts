/**
 * Observability of a long-running process: the `/healthz` + `/metrics` endpoint and, in worker
 * processes, the periodic handshake readings behind the handshake-age gauge.
 */
import { handleIncidentWebhook, type WebhookCall } from '../bot/incident-webhook.js';
import { HandshakeMonitor } from '../observability/handshakes.js';
import { type HttpEndpoint, startHttpServer } from './http.js';
import type { Runtime } from './runtime.js';

/** What {@link startObservability} started. */
export interface Observability {
  /** The endpoint, unless disabled or its port was taken. */
  endpoint: HttpEndpoint | undefined;
  /** Stops the handshake readings (call before the runtime closes). */
  stopReadings(): Promise<void>;
  /** Closes the endpoint (call after the runtime closed, so `/healthz` says 503 while draining). */
  close(): Promise<void>;
}

/**
 * Starts the endpoint on `metrics.host:metrics.port` when `metrics.enabled`, and the handshake
 * readings when `readHandshakes` (worker processes). A taken port is logged as an error and the
 * process runs on without the endpoint, rather than stopping hub work for the sake of metrics.
 */
export async function startObservability(runtime: Runtime, readHandshakes: boolean): Promise<Observability> {
  const { config, logger, redis, pool, inventory } = runtime.worker;
  let endpoint: HttpEndpoint | undefined;
  if (config.metrics.enabled) {
    try {
      const secretEnv = config.oncall?.webhookSecretEnv;
      const secret = secretEnv === undefined ? '' : (process.env[secretEnv] ?? '');
      const webhook =
        secret === ''
          ? {}
          : { webhook: (call: WebhookCall) => handleIncidentWebhook(runtime.bot, secret, call) };
      endpoint = await startHttpServer(
        { health: () => runtime.health(), metrics: runtime.metrics, ...webhook },
        {
          host: config.metrics.host,
          port: config.metrics.port,
          logger,
          ...(config.metrics.token === undefined ? {} : { token: config.metrics.token }),
        },
      );
    } catch (err) {
      logger.error(
        { err, host: config.metrics.host, port: config.metrics.port },
        'cannot serve /healthz and /metrics; set metrics.port to a free port (0 picks one)',
      );
    }
  }
  const monitor = readHandshakes
    ? new HandshakeMonitor({ config, redis, pool, inventory, logger })
    : undefined;
  monitor?.start();
  return {
    endpoint,
    stopReadings: async () => monitor?.stop(),
    close: async () => endpoint?.close(),
  };
}
