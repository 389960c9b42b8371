import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixAction } from '../../../../src/domain/models/diagnosis.js';
import { readSteps } from '../../../../src/hub/facts/facts.js';
import { hubPrograms } from '../../../../src/hub/programs/catalog.js';
import { fixSteps } from '../../../../src/hub/programs/fixes.js';
import { dumpStep, provisionSteps, readConfStep, removeSteps } from '../../../../src/hub/programs/peers.js';
import { type HubProgram, hubProgram } from '../../../../src/hub/programs/registry.js';
import { commitSteps, rollbackSteps, stageSteps, watchSteps } from '../../../../src/hub/programs/rotation.js';
import { buildScript, sudoArgv } from '../../../../src/hub/ssh/remote-script.js';
import { SUDO_HUB } from '../../../support/hub-config.js';

const hub = SUDO_HUB;
const KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const KEY2 = 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=';

describe('the hub program catalog', () => {
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

  it('lists every program any hub module defines, so none is left uninstalled', async () => {
    const dir = join(import.meta.dirname, '../../../../src/hub');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const defined = new Set<string>();
    for (const file of files) {
      const module = (await import(join(dir, file))) as Record<string, unknown>;
      for (const value of Object.values(module)) {
        const program = value as Partial<HubProgram>;
        if (typeof program?.name === 'string' && typeof program.text === 'string') defined.add(program.name);
      }
    }
    expect(defined.size).toBeGreaterThan(10);
    expect([...defined].sort()).toEqual(hubPrograms().map((p) => p.name));
  });

  it('refuses bad program names', () => {
    expect(() => hubProgram('../../bin/sh', 'true')).toThrow(/bad hub program name/);
    expect(hubProgram('tunnelgate-x', 'true').name).toBe('tunnelgate-x');
  });
});

describe('sudo mode', () => {
  it('runs registered programs as their installed files, never sudo sh or sudo wg', () => {
    const steps = [
      ...provisionSteps(hub, { publicKey: KEY, allowedIps: ['10.6.0.2/32'], section: '\n[Peer]\n' }),
    ];
    const argvs = steps.map((s) => sudoArgv(s));
    expect(argvs).toEqual([
      [
        'sudo',
        '-n',
        '/usr/local/lib/tunnelgate/tunnelgate-wg-set',
        'wg0',
        KEY,
        '10.6.0.2/32',
        '/etc/wireguard/wg0.conf',
      ],
      ['sudo', '-n', '/usr/local/lib/tunnelgate/tunnelgate-persist', 'wg0', '/etc/wireguard/wg0.conf', KEY],
      ['sudo', '-n', '/usr/local/lib/tunnelgate/tunnelgate-check', 'wg0', KEY, '/etc/wireguard/wg0.conf'],
    ]);
    for (const step of [...removeSteps(hub, KEY), dumpStep(hub), readConfStep(hub)]) {
      const argv = sudoArgv(step);
      expect(argv.slice(0, 2)).toEqual(['sudo', '-n']);
      expect(argv[2]).toMatch(/^\/usr\/local\/lib\/tunnelgate\/tunnelgate-[a-z-]+$/);
    }
    const text = buildScript(steps, { sudo: true }).text;
    expect(text).not.toContain(`'sudo' '-n' 'sh'`);
    expect(text).toContain(`'sudo' '-n' '/usr/local/lib/tunnelgate/tunnelgate-persist'`);
  });

  it('runs any step that is not a program as the hub user without sudo', () => {
    expect(sudoArgv({ argv: ['sh', '-c', 'id', 'tunnelgate-dump', 'wg0'] })).toEqual([
      'sh',
      '-c',
      'id',
      'tunnelgate-dump',
      'wg0',
    ]);
    expect(sudoArgv({ argv: ['ip', '-j', 'route', 'show'] })).toEqual(['ip', '-j', 'route', 'show']);
  });

  it('leaves only commands an unprivileged user may run outside the programs, in every job', () => {
    const keys = { oldPublicKey: KEY, newPublicKey: KEY2 };
    const jobs = {
      provision: provisionSteps(hub, { publicKey: KEY, allowedIps: ['10.6.0.2/32'], section: '\n' }),
      remove: removeSteps(hub, KEY),
      stage: stageSteps(hub, KEY2, '\n'),
      watch: watchSteps(hub, keys, ['10.6.0.2/32'], '\n', { sliceSec: 10, pollSec: 0.05 }),
      commit: commitSteps(hub, keys, ['10.6.0.2/32'], '\n'),
      rollback: rollbackSteps(hub, keys),
      diagnose: readSteps(hub, { ping: [{ publicKey: KEY, address: '10.6.0.2' }], pmtuPeer: KEY }),
      audit: readSteps(hub, {
        ping: [],
        pmtuPeer: null,
        passiveOnly: true,
        programs: new Map([['tunnelgate-dump', '0'.repeat(64)]]),
      }),
      forwarding: fixSteps(hub, { type: 'enable-forwarding' }),
      chmod: fixSteps(hub, { type: 'chmod-600', paths: ['/etc/wireguard/wg0.conf'] }),
      masquerade: fixSteps(
        hub,
        FixAction.parse({ type: 'add-masquerade', egressInterface: 'eth0', subnet: '10.6.0.0/24' }),
      ),
    };
    const unprivileged = new Set<string>();
    for (const [job, steps] of Object.entries(jobs)) {
      expect(steps.length, job).toBeGreaterThan(0);
      for (const step of steps) {
        const argv = sudoArgv(step);
        if (argv[0] !== 'sudo') unprivileged.add(`${argv[0]} ${argv[1]}`);
      }
    }
    expect([...unprivileged].sort()).toEqual([
      'date +%s',
      'ip -j',
      'ping -n',
      'sha256sum --',
      'sysctl net.ipv4.ip_forward',
    ]);
  });

  it('passes the hub interface only as the first argument of programs that pin it', () => {
    const keys = { oldPublicKey: KEY, newPublicKey: KEY2 };
    const steps = [
      ...provisionSteps(hub, { publicKey: KEY, allowedIps: ['10.6.0.2/32'], section: '\n' }),
      ...removeSteps(hub, KEY),
      ...stageSteps(hub, KEY2, '\n'),
      ...watchSteps(hub, keys, ['10.6.0.2/32'], '\n', { sliceSec: 10, pollSec: 0.05 }),
      ...commitSteps(hub, keys, ['10.6.0.2/32'], '\n'),
      ...readSteps(hub, { ping: [{ publicKey: KEY, address: '10.6.0.2' }], pmtuPeer: KEY }),
    ];
    const pinned = new Set(
      hubPrograms()
        .filter((p) => p.interfaceFirst === true)
        .map((p) => p.name),
    );
    const passing = new Set<string>();
    for (const step of steps) {
      const argv = sudoArgv(step);
      const args = argv.slice(3);
      if (!args.includes(hub.interface)) continue;
      const name = argv[2]?.split('/').pop() ?? '';
      passing.add(name);
      expect(args.indexOf(hub.interface), name).toBe(0);
    }
    expect([...passing].sort()).toEqual([...pinned].sort());
    expect([...pinned].sort()).toEqual([
      'tunnelgate-check',
      'tunnelgate-commit',
      'tunnelgate-dump',
      'tunnelgate-persist',
      'tunnelgate-pmtu',
      'tunnelgate-watch',
      'tunnelgate-wg-remove',
      'tunnelgate-wg-set',
      'tunnelgate-wg-stage',
    ]);
  });
});

describe('the programs a bootstrapped hub installs', () => {
  it('holds every program the workers and runbooks run, so a bootstrapped hub has them all', () => {
    expect(hubPrograms().map((p) => p.name)).toEqual([
      'tunnelgate-adopt',
      'tunnelgate-check',
      'tunnelgate-chmod-private',
      'tunnelgate-commit',
      'tunnelgate-conf',
      'tunnelgate-ct',
      'tunnelgate-dump',
      'tunnelgate-forwarding',
      'tunnelgate-listeners',
      'tunnelgate-masquerade',
      'tunnelgate-modes',
      'tunnelgate-persist',
      'tunnelgate-pmtu',
      'tunnelgate-ruleset',
      'tunnelgate-set-expires',
      'tunnelgate-unpersist',
      'tunnelgate-watch',
      'tunnelgate-wg-remove',
      'tunnelgate-wg-set',
      'tunnelgate-wg-stage',
    ]);
  });

  it('runs the rotation programs as installed files in sudo mode', () => {
    const [watch] = watchSteps(hub, { oldPublicKey: 'a', newPublicKey: 'b' }, ['10.66.1.2/32'], '\n', {
      sliceSec: 10,
      pollSec: 0.05,
    });
    expect(sudoArgv(watch ?? { argv: [] }).slice(0, 3)).toEqual([
      'sudo',
      '-n',
      '/usr/local/lib/tunnelgate/tunnelgate-watch',
    ]);
  });
});
