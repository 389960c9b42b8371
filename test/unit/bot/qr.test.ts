import { describe, expect, it } from 'vitest';
import { renderQr } from '../../../src/bot/qr.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// A realistic client config (~300 bytes); the keys are fixed test values, not real secrets.
const CONFIG = [
  '[Interface]',
  'PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=',
  'Address = 10.6.0.7/32',
  'DNS = 10.6.0.1',
  '',
  '[Peer]',
  'PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  'AllowedIPs = 10.6.0.0/24',
  'Endpoint = vpn.example.com:51820',
  'PersistentKeepalive = 25',
  '',
].join('\n');

describe('renderQr', () => {
  it('produces a PNG image', async () => {
    const { pngBase64 } = await renderQr(CONFIG);
    const png = Buffer.from(pngBase64, 'base64');
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(png.length).toBeGreaterThan(500);
  });

  it('produces half-block terminal art that fits a terminal', async () => {
    const { terminal } = await renderQr(CONFIG);
    const lines = terminal.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(20);
    expect(terminal).toMatch(/[▀▄█]/);
    const width = Math.max(...lines.map((line) => [...line].length));
    expect(width).toBeGreaterThan(20);
    // Version ≤ 13 at level M for ~300 bytes: 69 modules + margins, well within 120 columns.
    expect(width).toBeLessThanOrEqual(120);
    expect(lines.length).toBeLessThanOrEqual(60);
  });
});
