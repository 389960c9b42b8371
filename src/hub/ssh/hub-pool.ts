/**
 * The SSH transports of all configured hubs: one {@link HubConnection} per hub name, so every job
 * for a hub shares its one connection and channel limit.
 */
import type { HubConfig } from '../../config/schema.js';
import { TunnelgateError } from '../../core/errors.js';
import { HubConnection, type HubConnectionOptions } from './hub-connection.js';

export class HubPool {
  private readonly connections = new Map<string, HubConnection>();

  /** Creates (but does not open) a connection per hub. Throws CONFIG_INVALID for a repeated name. */
  constructor(hubs: readonly HubConfig[], options: HubConnectionOptions) {
    for (const hub of hubs) {
      if (this.connections.has(hub.name)) {
        throw new TunnelgateError('CONFIG_INVALID', `hub "${hub.name}" is configured twice`, {
          hub: hub.name,
        });
      }
      this.connections.set(hub.name, new HubConnection(hub, options));
    }
  }

  /** The hub names, in configuration order. */
  get names(): string[] {
    return [...this.connections.keys()];
  }

  /** The connection of a hub. Throws NOT_FOUND for a hub that is not configured. */
  get(name: string): HubConnection {
    const conn = this.connections.get(name);
    if (conn === undefined) {
      throw new TunnelgateError('NOT_FOUND', `there is no hub "${name}"`, {
        hint: `configured hubs: ${this.names.join(', ')}`,
      });
    }
    return conn;
  }

  /** Closes every hub's connections (for shutdown); a later exec would reconnect. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.connections.values()].map((conn) => conn.close()));
  }
}
