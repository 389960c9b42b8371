import { HubConfig } from '../../src/config/schema.js';

/** A least-privilege hub entry (user `tunnelgate`, `sudo: true`) for tests that build hub steps. */
export const SUDO_HUB = HubConfig.parse({
  name: 'hub1',
  host: '192.0.2.10',
  user: 'tunnelgate',
  sudo: true,
  privateKeyPath: '/tmp/key',
  hostKey: 'ssh-ed25519 AAAA',
  endpoint: 'vpn.example.com:51820',
  subnet: '10.6.0.0/24',
});
