import { describe, expect, it } from 'vitest';
import type { AdoptEntry } from '../../../src/domain/models/command.js';
import { listPeers, parseWgConf } from '../../../src/wg/conf.js';
import { generateKeyPair } from '../../../src/wg/keys.js';
import { surveyHub } from '../../../src/wg/survey.js';
import { planAdoption } from '../../../src/workers/adopt-plan.js';
import { thrownError } from '../../support/errors.js';
import { SUDO_HUB } from '../../support/hub-config.js';

const keys = [1, 2, 3, 4, 5].map(() => generateKeyPair().publicKey as string);
const [managed, gateway, printer, routerOnly, clash] = keys as [string, string, string, string, string];
const twinA = `AAAAAAAA${gateway.slice(8)}`;
const twinB = `AAAAAAAA${printer.slice(8)}`;

function survey(extra = '') {
  const peers = listPeers(
    parseWgConf(`[Interface]
Address = 10.6.0.1/24

[Peer]
# tunnelgate: {"peer":"alice-laptop","owner":"alice","device":"laptop","request":"r-abcdef","created":"2026-12-01T00:00:00.000Z","expires":null,"mode":"split"}
PublicKey = ${managed}
AllowedIPs = 10.6.0.2/32

[Peer]
PublicKey = ${gateway}
AllowedIPs = 10.6.0.3/32, 192.168.50.0/24

[Peer]
PublicKey = ${printer}
AllowedIPs = 10.6.0.4/32

[Peer]
PublicKey = ${routerOnly}
AllowedIPs = 172.16.0.0/16
${extra}`),
  );
  return surveyHub([], peers, new Map([[managed, 'alice-laptop']]));
}

const plan = (entries: AdoptEntry[], text = '', taken: string[] = []) =>
  planAdoption(
    {
      hub: SUDO_HUB,
      survey: survey(text),
      managed: new Map([[managed, 'alice-laptop']]),
      takenNames: new Set(taken),
    },
    entries,
  );
const entry = (keyPrefix: string, device = 'gw', owner = 'bob'): AdoptEntry =>
  ({ keyPrefix, owner, device }) as AdoptEntry;

describe('planAdoption', () => {
  it('plans a foreign peer named by a prefix: its tunnel address and its other routes', () => {
    const [one] = plan([entry(gateway.slice(0, 6), 'office-gw')]);
    expect(one).toMatchObject({
      peer: 'bob-office-gw',
      owner: 'bob',
      publicKey: gateway,
      address: '10.6.0.3/32',
      routes: ['192.168.50.0/24'],
      where: 'file',
    });
  });

  it('refuses an unknown, ambiguous or managed prefix, each named', () => {
    const text = `\n[Peer]\nPublicKey = ${twinA}\nAllowedIPs = 10.6.0.9/32\n\n[Peer]\nPublicKey = ${twinB}\nAllowedIPs = 10.6.0.10/32\n`;
    expect(thrownError(() => plan([entry('ZZZZZZZZZZ')], text)).message).toContain(
      'key prefix ZZZZZZZZZZ matches no peer on hub',
    );
    expect(thrownError(() => plan([entry('AAAAAAAA')], text)).message).toContain(
      'key prefix AAAAAAAA matches 2 foreign peers',
    );
    expect(thrownError(() => plan([entry(managed.slice(0, 8))])).message).toContain(
      'names alice-laptop, which Tunnelgate already manages',
    );
  });

  it('refuses a peer without exactly one tunnel address, and one that overlaps another peer, naming it', () => {
    expect(thrownError(() => plan([entry(routerOnly.slice(0, 8))])).message).toContain(
      'holds no /32 address in 10.6.0.0/24',
    );
    const text = `\n[Peer]\nPublicKey = ${clash}\nAllowedIPs = 10.6.0.20/32, 192.168.50.64/26\n`;
    expect(thrownError(() => plan([entry(clash.slice(0, 8))], text)).message).toMatch(
      /192\.168\.50\.64\/26 overlaps 192\.168\.50\.0\/24 held by foreign /,
    );
  });

  it('refuses a name given twice, a peer named twice and a name already taken, and lists every problem', () => {
    const error = thrownError(() =>
      plan(
        [
          entry(gateway.slice(0, 8), 'gw'),
          entry(printer.slice(0, 8), 'gw'),
          entry(gateway.slice(0, 10), 'other'),
          entry('ZZZZZZZZ'),
        ],
        '',
        [],
      ),
    );
    expect(error.code).toBe('INPUT_INVALID');
    expect(error.message).toContain('the peer name bob-gw is given twice');
    expect(error.message).toContain(`name the same peer`);
    expect(error.message).toContain('key prefix ZZZZZZZZ matches no peer');
    expect(thrownError(() => plan([entry(gateway.slice(0, 8), 'gw')], '', ['bob-gw'])).message).toContain(
      'the peer name bob-gw is already taken',
    );
  });
});
