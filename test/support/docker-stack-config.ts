/**
 * The edits an operator makes after the README's copy steps, for the docker stack test: the hubs
 * (the test hub container, its host key pinned), roles, a short job lock, Slack in HTTP mode with
 * its secrets in .env, and a compose override adding the hub container.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { HUB_IMAGE, must } from './docker-stack.js';

/** Writes the test hub's files under `dir/hub` and edits `dir`'s config and .env; `image` is the built image. */
export async function editForTestHub(dir: string, image: string): Promise<void> {
  mkdirSync(join(dir, 'hub'));
  await must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'hub', 'ssh_host_ed25519_key')]);
  const hostKey = readFileSync(join(dir, 'hub', 'ssh_host_ed25519_key.pub'), 'utf8')
    .split(' ')
    .slice(0, 2)
    .join(' ');
  writeFileSync(join(dir, 'keys', 'known_hosts'), `hub ${hostKey}\n`);
  writeFileSync(
    join(dir, 'hub', 'authorized_keys'),
    readFileSync(join(dir, 'keys', 'tunnelgate_ed25519.pub')),
  );
  // "then set your hubs, roles and chat section": the example with the test hub, and a short
  // job lock so a handed-back job is retried within seconds.
  const config = parse(readFileSync(join(dir, 'tunnelgate.yaml'), 'utf8')) as Record<string, unknown>;
  config.hubs = [
    {
      name: 'hub1',
      host: 'hub',
      user: 'root',
      privateKeyPath: './keys/tunnelgate_ed25519',
      knownHosts: './keys/known_hosts',
      endpoint: 'hub:51820',
      subnet: '10.66.1.0/24',
      dns: ['10.66.1.1'],
      routes: ['10.66.1.0/24'],
    },
  ];
  config.roles = { leads: ['alice'], oncall: [] };
  config.worker = { lockDuration: '10s', stalledInterval: '5s', attempts: 5, backoff: '1s' };
  // Slack in HTTP mode, its secrets from .env (SLACK_APP_TOKEN= stays empty: "not set"). The
  // API URL answers nothing: no test step needs Slack to answer.
  config.slack = {
    signingSecret: `$${'{'}SLACK_SIGNING_SECRET}`,
    botToken: `$${'{'}SLACK_BOT_TOKEN}`,
    appToken: `$${'{'}SLACK_APP_TOKEN}`,
    port: 3000,
    apiUrl: 'http://127.0.0.1:9/api/',
  };
  writeFileSync(join(dir, 'tunnelgate.yaml'), stringify(config));
  const dotEnv = readFileSync(join(dir, '.env'), 'utf8')
    .replace(/^SLACK_SIGNING_SECRET=$/m, 'SLACK_SIGNING_SECRET=stack-test-signing-secret')
    .replace(/^SLACK_BOT_TOKEN=$/m, 'SLACK_BOT_TOKEN=xoxb-stack-test');
  writeFileSync(join(dir, '.env'), dotEnv);
  writeFileSync(
    join(dir, 'docker-stack.test.yml'),
    stringify({
      services: {
        // The image built below under a tag of this run; health checked every 2 s, not 30 s.
        bot: { image, healthcheck: { interval: '2s' } },
        worker: { image, healthcheck: { interval: '2s' } },
        hub: {
          image: HUB_IMAGE,
          cap_add: ['NET_ADMIN'],
          devices: ['/dev/net/tun:/dev/net/tun'],
          volumes: ['./hub:/hub:ro'],
        },
      },
    }),
  );
}
