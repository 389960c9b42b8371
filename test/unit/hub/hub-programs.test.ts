import { describe, expect, it } from 'vitest';
import { HubConfig } from '../../../config/schema.js';
import { hubPrograms as catalog } from '../../../workers/hub-program-catalog.js';
import { hubPrograms, registerHubProgram, sudoArgv } from '../../../workers/hub-programs.js';
import { dumpStep, provisionSteps, readConfStep, removeSteps } from '../../../workers/hub-steps.js';
import { watchSteps } from '../../../workers/rotate-steps.js';
import { buildScript } from '../../../workers/ssh/remote-script.js';

const hub = HubConfig.parse({
  name: 'hub1',
  host: '192.0.2.10',
  user: 'tunnelgate',
  sudo: true,
  privateKeyPath: '/tmp/key',
  hostKey: 'ssh-ed25519 AAAA',
  endpoint: 'vpn.example.com:51820',
  subnet: '10.6.0.0/24',
});
const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';

describe('the hub program registry', () => {
  it('holds the programs hub-steps runs, under the names they already used as $0', () => {
    expect(hubPrograms().map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'tunnelgate-check',
        'tunnelgate-conf',
        'tunnelgate-dump',
        'tunnelgate-persist',
        'tunnelgate-unpersist',
      ]),
    );
  });

  it('refuses a second registration of a name with different text, and bad names', () => {
    expect(
      registerHubProgram(
        'tunnelgate-dump',
        hubPrograms().find((p) => p.name === 'tunnelgate-dump')?.text ?? '',
      ),
    ).toBeDefined();
    expect(() => registerHubProgram('tunnelgate-dump', 'echo other')).toThrow(/registered twice/);
    expect(() => registerHubProgram('../../bin/sh', 'true')).toThrow(/bad hub program name/);
  });
});

describe('sudo mode', () => {
  it('runs registered programs as their installed files and wg by its full path, never sudo sh', () => {
    const steps = [
      ...provisionSteps(hub, { publicKey: KEY, allowedIps: ['10.6.0.2/32'], section: '\n[Peer]\n' }),
    ];
    const argvs = steps.map((s) => sudoArgv(s.argv));
    expect(argvs).toEqual([
      ['sudo', '-n', '/usr/bin/wg', 'set', 'wg0', 'peer', KEY, 'allowed-ips', '10.6.0.2/32'],
      ['sudo', '-n', '/usr/local/lib/tunnelgate/tunnelgate-persist', '/etc/wireguard/wg0.conf', KEY],
      ['sudo', '-n', '/usr/local/lib/tunnelgate/tunnelgate-check', 'wg0', KEY, '/etc/wireguard/wg0.conf'],
    ]);
    for (const step of [...removeSteps(hub, KEY), dumpStep(hub), readConfStep(hub)]) {
      const argv = sudoArgv(step.argv);
      expect(argv.slice(0, 2)).toEqual(['sudo', '-n']);
      expect(argv[2]).toMatch(/^(\/usr\/bin\/wg|\/usr\/local\/lib\/tunnelgate\/tunnelgate-[a-z-]+)$/);
    }
    const text = buildScript(steps, { sudo: true }).text;
    expect(text).not.toContain(`'sudo' '-n' 'sh'`);
    expect(text).toContain(`'sudo' '-n' '/usr/local/lib/tunnelgate/tunnelgate-persist'`);
  });

  it('leaves an unregistered or altered sh program behind plain sudo, which the sudoers entry refuses', () => {
    expect(sudoArgv(['sh', '-c', 'id', 'tunnelgate-dump', 'wg0'])).toEqual([
      'sudo',
      '-n',
      'sh',
      '-c',
      'id',
      'tunnelgate-dump',
      'wg0',
    ]);
    expect(sudoArgv(['id'])).toEqual(['sudo', '-n', 'id']);
  });
});

describe('the hub program catalog', () => {
  it('holds every program the workers and runbooks run, so a bootstrapped hub has them all', () => {
    expect(catalog().map((p) => p.name)).toEqual([
      'tunnelgate-check',
      'tunnelgate-commit',
      'tunnelgate-conf',
      'tunnelgate-ct',
      'tunnelgate-dump',
      'tunnelgate-masquerade',
      'tunnelgate-modes',
      'tunnelgate-persist',
      'tunnelgate-pmtu',
      'tunnelgate-unpersist',
      'tunnelgate-watch',
    ]);
  });

  it('runs the rotation programs as installed files in sudo mode', () => {
    const [watch] = watchSteps(hub, { oldPublicKey: 'a', newPublicKey: 'b' }, ['10.66.1.2/32'], 10, 0.05);
    expect(sudoArgv(watch?.argv ?? []).slice(0, 3)).toEqual([
      'sudo',
      '-n',
      '/usr/local/lib/tunnelgate/tunnelgate-watch',
    ]);
  });
});
