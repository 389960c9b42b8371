import { describe, expect, it } from 'vitest';
import { listPeers, parseWgConf } from '../../../src/wg/conf.js';
import { parseDump } from '../../../src/wg/dump.js';
import { generateKeyPair } from '../../../src/wg/keys.js';
import { placeOf, shortKey, surveyHub } from '../../../src/wg/survey.js';

const key = (): string => generateKeyPair().publicKey;
const [managed, gateway, printer, box] = [key(), key(), key(), key()];

const conf = listPeers(
  parseWgConf(`[Interface]
Address = 10.6.0.1/24

[Peer]
# tunnelgate: {"peer":"alice-laptop","owner":"alice","device":"laptop","request":"r-abcdef","created":"2026-12-01T00:00:00.000Z","expires":null,"mode":"split"}
PublicKey = ${managed}
AllowedIPs = 10.6.0.2/32

[Peer]
PublicKey = ${gateway}
AllowedIPs = 10.6.0.3/32, 192.168.50.0/24
Endpoint = 203.0.113.9:51820

[Peer]
PublicKey = ${printer}
AllowedIPs = 10.6.0.4/32
`),
);
const dump = parseDump(
  [
    `(hidden)\t${generateKeyPair().publicKey}\t51820\toff`,
    `${managed}\t(none)\t(none)\t10.6.0.2/32\t0\t0\t0\toff`,
    `${gateway}\t(none)\t198.51.100.7:4500\t10.6.0.3/32,192.168.50.0/24\t1764892800\t10\t20\t25`,
    `${box}\t(none)\t(none)\t10.6.0.2/32,192.168.50.128/25\t0\t0\t0\toff`,
  ].join('\n'),
).peers;

describe('surveyHub', () => {
  const survey = surveyHub(dump, conf, new Map([[managed, 'alice-laptop']]));
  const byKey = new Map(survey.peers.map((p) => [p.publicKey, p]));

  it('tells managed peers from foreign ones and says where each was seen', () => {
    expect(survey.peers.map((p) => [p.publicKey, p.managed, placeOf(p)])).toEqual([
      [managed, true, 'both'],
      [gateway, false, 'both'],
      [box, false, 'live'],
      [printer, false, 'file'],
    ]);
  });

  it('takes the live endpoint and handshake, and the file AllowedIPs of a file-only peer', () => {
    expect(byKey.get(gateway)).toMatchObject({ endpoint: '198.51.100.7:4500', latestHandshake: 1764892800 });
    expect(byKey.get(printer)).toMatchObject({
      allowedIps: ['10.6.0.4/32'],
      live: false,
      latestHandshake: null,
    });
  });

  it('names both holders of every overlap: managed peers by name, foreign ones by short key', () => {
    expect(survey.overlaps).toEqual(
      expect.arrayContaining([
        { a: 'alice-laptop', cidrA: '10.6.0.2/32', b: `foreign ${shortKey(box)}`, cidrB: '10.6.0.2/32' },
        {
          a: `foreign ${shortKey(gateway)}`,
          cidrA: '192.168.50.0/24',
          b: `foreign ${shortKey(box)}`,
          cidrB: '192.168.50.128/25',
        },
      ]),
    );
    expect(survey.overlaps).toHaveLength(2);
  });
});
