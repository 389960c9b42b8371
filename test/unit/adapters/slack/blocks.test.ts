import { describe, expect, it } from 'vitest';
import { approvalCard } from '../../../../src/adapters/slack/approval-card.js';
import {
  codeBlocks,
  mention,
  REVOKE_ACTION,
  ROTATE_ACTION,
  replyBody,
} from '../../../../src/adapters/slack/blocks.js';
import { DiagnoseReport } from '../../../../src/domain/models/diagnosis.js';
import { type ChangePreview, Reply } from '../../../../src/domain/models/reply.js';
import type { AccessRequest } from '../../../../src/domain/models/request.js';
import { displayGate } from '../../../support/gate.js';

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
  gate: displayGate({ required: 1, until: '2025-01-04T00:00:00.000Z', approvedBy: [] }),
  createdAt: '2025-01-01T00:00:00.000Z',
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

  it('warns on the card when the hub has foreign peers or overlaps, and only then', () => {
    const drift = { hub: 'hub1', at: '2025-01-01T00:00:00.000Z', foreign: ['Ab12Cd34…'], overlaps: [] };
    const card = JSON.stringify(
      approvalCard(request, { ...preview, drift } as unknown as ChangePreview).blocks,
    );
    expect(card).toContain(':warning: Warning: hub hub1 has drifted');
    expect(card).toContain('1 foreign peer not made by Tunnelgate (Ab12Cd34…)');
    expect(JSON.stringify(approvalCard(request, preview).blocks)).not.toContain('drifted');
  });

  it('escapes what users typed so it cannot mention @channel or forge links', () => {
    const card = JSON.stringify(approvalCard(request, preview).blocks);
    expect(card).not.toContain('<!channel>');
    expect(card).toContain('&lt;!channel&gt;');
    expect(card).not.toContain('<https://evil');
  });

  it('drops the buttons once a request is decided and says who decided', () => {
    const provisioned = {
      ...request,
      state: 'provisioned',
      gate: displayGate({ required: 1, until: '2025-01-04T00:00:00.000Z', approvedBy: ['U0ALICE'] }),
      address: '10.66.1.2/32',
    };
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

  it('renders a diagnosis one line per playbook step with its verdict icon, and the failing finding', () => {
    const finding = {
      id: 'f-3k9m2q7a',
      check: 'no-handshake',
      severity: 'high',
      title: 'No handshake from u0bob-laptop',
      evidence: ['peer abc= latest handshake: never'],
      cause: 'wrong endpoint IP/port, wrong keys, or server-side firewall dropping UDP',
      fix: "check the client's Endpoint and the hub's public key in its config",
    };
    const report = DiagnoseReport.parse({
      hub: 'hub1',
      target: { type: 'peer', peer: 'u0bob-laptop' },
      at: '2026-11-24T16:00:00.000Z',
      steps: [
        {
          step: 1,
          name: 'reachability',
          verdict: 'pass',
          summary: 'UDP 51820 listening and accepted',
          evidence: [],
          findings: [],
        },
        {
          step: 2,
          name: 'handshake',
          verdict: 'fail',
          summary: 'never',
          evidence: ['latest handshake: 0'],
          findings: [finding],
        },
        {
          step: 3,
          name: 'tunnel',
          verdict: 'skipped',
          summary: 'skipped: handshake failed',
          evidence: [],
          findings: [],
        },
      ],
    });
    const body = JSON.stringify(replyBody({ kind: 'diagnose.report', report }).blocks);
    expect(body).toContain(':white_check_mark: *1. reachability*: UDP 51820 listening and accepted');
    expect(body).toContain(':x: *2. handshake*: never');
    expect(body).toContain('3. tunnel');
    expect(body).toContain('No handshake from u0bob-laptop');
    expect(body).toContain('Cause: wrong endpoint IP/port');
    const error = replyBody({ kind: 'error', code: 'FORBIDDEN', message: 'only leads can approve requests' });
    expect(error.text).toContain('only leads can approve requests');
  });

  const reminder = (stage: 'due' | 'overdue' | 'revoking') =>
    Reply.parse({
      kind: 'key.reminder',
      stage,
      peer: 'u0bob-laptop',
      hub: 'hub1',
      owner: 'U0BOB',
      keyCreatedAt: '2025-01-01T00:00:00.000Z',
      overdueAt: '2025-04-01T00:00:00.000Z',
      ...(stage === 'revoking' ? { revokeAt: '2025-04-08T00:00:00.000Z' } : {}),
    });

  it('renders a key reminder with its text and a Rotate now button carrying the peer name', () => {
    for (const stage of ['due', 'overdue'] as const) {
      const body = replyBody(reminder(stage));
      expect(JSON.stringify(body.blocks[0])).toContain('/vpn rotate u0bob-laptop');
      const actions = body.blocks.find((b) => b.type === 'actions');
      expect(actions).toMatchObject({
        elements: [
          { type: 'button', action_id: ROTATE_ACTION, value: 'u0bob-laptop', text: { text: 'Rotate now' } },
        ],
      });
    }
  });

  it('gives leads a Revoke now button on a break-glass notice', () => {
    const body = replyBody({
      kind: 'breakglass.granted',
      requestId: 'r-7k3m9q',
      user: 'U0CAROL',
      hub: 'hub1',
      peer: 'u0carol-bg-7k3m9q',
      mode: 'split',
      incident: { provider: 'pagerduty', id: 'PT1', title: 'db down', url: null },
      basis: 'oncall',
      forMs: 3_600_000,
    } as Reply);
    expect(JSON.stringify(body.blocks[0])).toContain('PT1');
    expect(body.blocks.find((b) => b.type === 'actions')).toMatchObject({
      elements: [
        {
          type: 'button',
          action_id: REVOKE_ACTION,
          value: 'u0carol-bg-7k3m9q',
          text: { text: 'Revoke now' },
        },
      ],
    });
  });

  it('offers no rotate button once the overdue peer is being revoked', () => {
    const body = replyBody(reminder('revoking'));
    expect(body.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(JSON.stringify(body.blocks)).not.toContain(ROTATE_ACTION);
  });
});
