import { describe, expect, it } from 'vitest';
import { approvalCard } from '../../../../adapters/slack/approval-card.js';
import { codeBlocks, mention, replyBody } from '../../../../adapters/slack/blocks.js';
import type { ChangePreview, Reply } from '../../../../bot/model/reply.js';
import type { AccessRequest } from '../../../../bot/model/request.js';

const request = {
  id: 'r-abcdef',
  requester: 'U0BOB',
  device: 'laptop',
  peer: 'u0bob-laptop',
  hub: 'hub1',
  mode: 'split',
  publicKey: `${'x'.repeat(43)}=`,
  generatedKey: true,
  reason: '<!channel> please <https://evil|click>',
  state: 'pending',
  approvals: [],
  required: 1,
  createdAt: '2025-01-01T00:00:00.000Z',
  pendingUntil: '2025-01-04T00:00:00.000Z',
  history: [],
} as unknown as AccessRequest;

const preview = {
  hub: 'hub1',
  peer: 'u0bob-laptop',
  mode: 'split',
  address: '10.66.1.2/32',
  hubAllowedIps: ['10.66.1.2/32'],
  clientAllowedIps: ['10.66.1.0/24'],
  endpoint: 'vpn.example.com:51820',
  approvalsRequired: 1,
} as unknown as ChangePreview;

describe('Slack rendering', () => {
  it('shows what will change and offers Approve and Deny while pending', () => {
    const card = JSON.stringify(approvalCard(request, preview).blocks);
    for (const text of [
      '10.66.1.2/32',
      '10.66.1.0/24',
      'vpn.example.com:51820',
      'split tunnel',
      'permanent',
    ]) {
      expect(card).toContain(text);
    }
    expect(card).toContain('tunnelgate_approve');
    expect(card).toContain('tunnelgate_deny');
  });

  it('escapes what users typed so it cannot mention @channel or forge links', () => {
    const card = JSON.stringify(approvalCard(request, preview).blocks);
    expect(card).not.toContain('<!channel>');
    expect(card).toContain('&lt;!channel&gt;');
    expect(card).not.toContain('<https://evil');
  });

  it('drops the buttons once a request is decided and says who decided', () => {
    const provisioned = { ...request, state: 'provisioned', approvals: ['U0ALICE'], address: '10.66.1.2/32' };
    const card = JSON.stringify(approvalCard(provisioned as AccessRequest, preview).blocks);
    expect(card).toContain('Provisioned');
    expect(card).toContain('<@U0ALICE>');
    expect(card).not.toContain('tunnelgate_approve');
  });

  it('mentions Slack users by id and prints other ids as text', () => {
    expect(mention('U0ALICE')).toBe('<@U0ALICE>');
    expect(mention('alice')).toBe('alice');
  });

  it('splits long text into code blocks within Slack limits', () => {
    const text = Array.from({ length: 400 }, (_, i) => `line ${i} ${'x'.repeat(20)}`).join('\n');
    const blocks = codeBlocks(text);
    expect(blocks.length).toBeGreaterThan(1);
    for (const block of blocks) {
      expect(block.type === 'section' && (block.text?.text.length ?? 0) <= 3_000).toBe(true);
    }
  });

  it('renders step reports one line per step with a status icon, and unknown shapes as text', () => {
    const report = {
      kind: 'diagnose.report',
      title: 'Diagnose u0bob-laptop',
      steps: [
        { name: 'peer on interface', status: 'ok' },
        { name: 'recent handshake', status: 'fail', detail: 'no handshake for 3h' },
      ],
    } as unknown as Reply;
    const body = JSON.stringify(replyBody(report).blocks);
    expect(body).toContain(':white_check_mark: peer on interface');
    expect(body).toContain(':x: recent handshake');
    expect(body).toContain('no handshake for 3h');
    const error = replyBody({ kind: 'error', code: 'FORBIDDEN', message: 'only leads can approve requests' });
    expect(error.text).toContain('only leads can approve requests');
  });
});
