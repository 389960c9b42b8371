import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../../../../adapters/discord/render.js';
import type { Reply } from '../../../../bot/model/reply.js';
import { AccessRequest } from '../../../../bot/model/request.js';
import { renderText } from '../../../../bot/render-text.js';

const request = AccessRequest.parse({
  id: 'r-7k3m9q',
  requester: '500000000000000003',
  device: 'laptop',
  peer: '500000000000000003-laptop',
  hub: 'hub1',
  mode: 'split',
  publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  generatedKey: true,
  state: 'pending',
  approvals: [],
  required: 1,
  createdAt: '2025-01-01T00:00:00.000Z',
  pendingUntil: '2025-01-04T00:00:00.000Z',
  history: [],
});
const review = (state: AccessRequest['state']): Reply => ({
  kind: 'request.review',
  request: { ...request, state },
  preview: {
    hub: 'hub1' as never,
    peer: request.peer,
    mode: 'split',
    address: '10.66.1.2/32',
    hubAllowedIps: ['10.66.1.2/32'],
    clientAllowedIps: ['10.66.1.0/24'],
    endpoint: 'vpn.example.com:51820',
    approvalsRequired: 1,
  },
});

describe('renderDiscord', () => {
  it('shows a pending review as an embed with Approve and Deny buttons, and no buttons once decided', () => {
    const pending = renderDiscord(review('pending'));
    expect(pending.embeds[0]?.title).toBe('VPN access request r-7k3m9q');
    expect(pending.components[0]?.components.map((b) => ('custom_id' in b ? b.custom_id : ''))).toEqual([
      'tg:approve:r-7k3m9q',
      'tg:deny:r-7k3m9q',
    ]);
    const denied = renderDiscord(review('denied'));
    expect(denied.components).toEqual([]);
    expect(JSON.stringify(denied.embeds)).toContain('denied');
  });

  it('attaches a config as a .conf file and its QR code as a PNG, with no key in the message text', () => {
    const payload = renderDiscord({
      kind: 'peer.config',
      requestId: request.id,
      peer: request.peer,
      hub: request.hub,
      configText: '[Interface]\nPrivateKey = SECRET\n',
      qrTerminal: '▀▄',
      qrPngBase64: Buffer.from('png-bytes').toString('base64'),
      ownKey: false,
    });
    expect(payload.files.map((f) => f.name)).toEqual([`${request.peer}.conf`, `${request.peer}-qr.png`]);
    expect(payload.files[1]?.data.toString()).toBe('png-bytes');
    expect(payload.content).not.toContain('SECRET');
  });

  it('falls back to the plain-text rendering in a code block, within 2000 characters', () => {
    const reply: Reply = { kind: 'notice', text: `line one\n${'x'.repeat(3000)}` };
    const payload = renderDiscord(reply);
    expect(payload.content?.startsWith('```\nline one')).toBe(true);
    expect(payload.content?.length).toBeLessThanOrEqual(2000);
    expect(renderDiscord({ kind: 'notice', text: 'short' }).content).toBe(
      renderText({ kind: 'notice', text: 'short' }),
    );
  });
});
