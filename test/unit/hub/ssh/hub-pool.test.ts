import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../../../src/config/schema.js';
import { createLogger } from '../../../../src/core/logger.js';
import { HubPool } from '../../../../src/hub/ssh/hub-pool.js';

const logger = createLogger({ level: 'silent' });

function hub(name: string): HubConfig {
  return HubConfig.parse({
    name,
    host: '198.51.100.2',
    user: 'root',
    privateKeyPath: '/nonexistent',
    hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFV0Lq5uyBiEpqPNTeGQMzMWjRMB7HNStfcd5XcrwAi5',
    endpoint: 'vpn.example.com:51820',
    subnet: '10.6.0.0/24',
  });
}

describe('HubPool', () => {
  it('holds one connection per hub, without connecting', () => {
    const pool = new HubPool([hub('hub1'), hub('hub2')], { logger });
    expect(pool.names).toEqual(['hub1', 'hub2']);
    expect(pool.get('hub1').hub.name).toBe('hub1');
    expect(pool.get('hub1')).toBe(pool.get('hub1'));
    expect(pool.get('hub2')).not.toBe(pool.get('hub1'));
    expect(pool.get('hub1').connected).toBe(false);
  });

  it('throws NOT_FOUND for an unknown hub, naming the configured ones', () => {
    const pool = new HubPool([hub('hub1')], { logger });
    expect(() => pool.get('nope')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND', hint: 'configured hubs: hub1' }),
    );
  });

  it('refuses a hub configured twice', () => {
    expect(() => new HubPool([hub('hub1'), hub('hub1')], { logger })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('closes hubs that never connected', async () => {
    const pool = new HubPool([hub('hub1'), hub('hub2')], { logger });
    await expect(pool.closeAll()).resolves.toBeUndefined();
  });

  it('reports an unreadable private key as CONFIG_INVALID before any network traffic', async () => {
    const pool = new HubPool([hub('hub1')], { logger });
    await expect(pool.get('hub1').exec(['true'])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      hub: 'hub1',
    });
  });
});
