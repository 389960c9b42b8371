import { describe, expect, it } from 'vitest';
import {
  formatPeerMetaLine,
  isPeerMetaLine,
  PeerMeta,
  parsePeerMetaLine,
} from '../../../src/wg/peer-meta.js';

const LINE =
  '# tunnelgate: {"peer":"alice-laptop","owner":"alice","device":"laptop","request":"r-7k3m9q","created":"2026-11-24T15:00:00.000Z","expires":null,"mode":"split"}';

const META = PeerMeta.parse({
  peer: 'alice-laptop',
  owner: 'alice',
  device: 'laptop',
  request: 'r-7k3m9q',
  created: '2026-11-24T15:00:00.000Z',
  expires: null,
  mode: 'split',
});

describe('formatPeerMetaLine', () => {
  it('writes the documented line exactly', () => {
    expect(formatPeerMetaLine(META)).toBe(LINE);
  });

  it('writes keys in schema order whatever order they came in', () => {
    const shuffled = PeerMeta.parse(
      JSON.parse(
        '{"mode":"split","expires":null,"created":"2026-11-24T15:00:00.000Z","request":"r-7k3m9q","device":"laptop","owner":"alice","peer":"alice-laptop"}',
      ),
    );
    expect(formatPeerMetaLine(shuffled)).toBe(LINE);
  });

  it('appends rotatedFrom when set', () => {
    const rotated = PeerMeta.parse({ ...META, rotatedFrom: 'VQY/b1zNilDrStLn5aH01xkz4FY790Kd6mXG6AyNRGs=' });
    expect(formatPeerMetaLine(rotated)).toBe(
      `${LINE.slice(0, -1)},"rotatedFrom":"VQY/b1zNilDrStLn5aH01xkz4FY790Kd6mXG6AyNRGs="}`,
    );
  });

  it('rejects metadata that does not match the schema', () => {
    expect(() => formatPeerMetaLine({ ...META, created: 'yesterday' })).toThrow(
      expect.objectContaining({ code: 'INPUT_INVALID', message: expect.stringContaining('created: ') }),
    );
  });
});

describe('parsePeerMetaLine', () => {
  it('reads the documented line', () => {
    expect(parsePeerMetaLine(LINE, 7)).toEqual(META);
  });

  it('reads a line with a CRLF ending and an expiry', () => {
    const line = `${LINE.replace('"expires":null', '"expires":"2026-11-25T15:00:00.000Z"')}\r`;
    expect(parsePeerMetaLine(line, 1).expires).toBe('2026-11-25T15:00:00.000Z');
  });

  it('drops unknown keys', () => {
    expect(parsePeerMetaLine(`${LINE.slice(0, -1)},"note":"x"}`, 1)).toEqual(META);
  });

  it('rejects broken JSON with the line number', () => {
    expect(() => parsePeerMetaLine('# tunnelgate: {"peer":', 12)).toThrow(
      expect.objectContaining({
        code: 'HUB_STATE_INVALID',
        message: 'WireGuard config line 12: the tunnelgate comment is not valid JSON',
      }),
    );
  });

  it('rejects a wrong field, naming it', () => {
    expect(() => parsePeerMetaLine(LINE.replace('"split"', '"sideways"'), 3)).toThrow(
      expect.objectContaining({
        code: 'HUB_STATE_INVALID',
        message: expect.stringMatching(/^WireGuard config line 3: .*mode: /),
      }),
    );
  });
});

describe('isPeerMetaLine', () => {
  it('recognises only our prefix', () => {
    expect(isPeerMetaLine(LINE)).toBe(true);
    expect(isPeerMetaLine('# tunnelgate:{}')).toBe(true);
    expect(isPeerMetaLine('# alice laptop')).toBe(false);
    expect(isPeerMetaLine('  # tunnelgate: {}')).toBe(false);
  });
});
