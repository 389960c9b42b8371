import { describe, expect, it } from 'vitest';
import { renderText } from '../../../../src/adapters/common/render-text.js';
import { renderDiscord } from '../../../../src/adapters/discord/render.js';
import { AuditReport, DiagnoseReport, type Finding } from '../../../../src/domain/models/diagnosis.js';
import type { Reply } from '../../../../src/domain/models/reply.js';
import { AccessRequest } from '../../../../src/domain/models/request.js';
import { displayGate } from '../../../support/gate.js';

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
  gate: displayGate({ required: 1, until: '2025-01-04T00:00:00.000Z', approvedBy: [] }),
  createdAt: '2025-01-01T00:00:00.000Z',
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

  it('adds a drift field to the review when the hub has foreign peers or overlaps', () => {
    const base = review('pending');
    if (base.kind !== 'request.review') throw new Error(base.kind);
    const drift = {
      hub: base.preview.hub,
      at: '2025-01-01T00:00:00.000Z',
      foreign: [],
      overlaps: ['10.66.1.0/28 of a overlaps 10.66.1.2/32 of b'],
    };
    const fields = renderDiscord({ ...base, preview: { ...base.preview, drift } }).embeds[0]?.fields ?? [];
    expect(fields.find((f) => f.name === 'Hub drift')?.value).toContain(
      '1 AllowedIPs overlap (10.66.1.0/28 of a overlaps 10.66.1.2/32 of b)',
    );
    expect((renderDiscord(base).embeds[0]?.fields ?? []).some((f) => f.name === 'Hub drift')).toBe(false);
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

  it('renders a diagnosis as one field per playbook step with its verdict icon, findings with cause, fix and the fix command', () => {
    const report = DiagnoseReport.parse({
      hub: 'hub1',
      target: { type: 'peer', peer: 'bob-laptop' },
      at: '2025-01-01T00:00:00.000Z',
      steps: [
        {
          step: 1,
          name: 'reachability',
          verdict: 'pass',
          summary: 'UDP 51820 listening',
          evidence: [],
          findings: [],
        },
        {
          step: 2,
          name: 'handshake',
          verdict: 'pass',
          summary: 'handshake 12 s ago',
          evidence: [],
          findings: [],
        },
        { step: 3, name: 'tunnel', verdict: 'pass', summary: 'ping answered', evidence: [], findings: [] },
        {
          step: 4,
          name: 'routing',
          verdict: 'fail',
          summary: 'forwarding is off',
          evidence: ['net.ipv4.ip_forward = 0'],
          findings: [forwarding],
        },
        {
          step: 5,
          name: 'performance',
          verdict: 'skipped',
          summary: 'after a failed step',
          evidence: [],
          findings: [],
        },
      ],
    });
    const [embed] = renderDiscord({ kind: 'diagnose.report', report }).embeds;
    expect(embed?.title).toBe('Diagnosis of bob-laptop on hub1');
    expect(embed?.fields?.map((f) => f.name)).toEqual([
      '✅ 1. reachability',
      '✅ 2. handshake',
      '✅ 3. tunnel',
      '❌ 4. routing',
      '⏭️ 5. performance',
    ]);
    const routing = embed?.fields?.[3]?.value ?? '';
    expect(routing).toContain('forwarding is off');
    expect(routing).toContain(`Cause: ${forwarding.cause}`);
    expect(routing).toContain(`Fix: ${forwarding.fix}`);
    expect(routing).toContain('/vpn fix f-3k9m2q7a');
  });

  it('renders an audit as a field per finding (the fix command only for mechanical fixes) and the passed checks', () => {
    const manual: Finding = { ...forwarding, id: 'f-aaaaaaaa', check: 'ssh-open', title: 'SSH open to all' };
    delete manual.action;
    const report = AuditReport.parse({
      hub: 'hub1',
      at: '2025-01-01T00:00:00.000Z',
      findings: [forwarding, manual],
      passed: ['key-file-mode', 'save-config'],
    });
    const [embed] = renderDiscord({ kind: 'audit.report', report }).embeds;
    expect(embed?.fields?.map((f) => f.name)).toEqual([
      '🔴 IP forwarding is off (f-3k9m2q7a)',
      '🔴 SSH open to all (f-aaaaaaaa)',
      '✅ Passed',
    ]);
    expect(embed?.fields?.[0]?.value).toContain('/vpn fix f-3k9m2q7a');
    expect(embed?.fields?.[1]?.value).toContain(`Cause: ${forwarding.cause}`);
    expect(embed?.fields?.[1]?.value).not.toContain('/vpn fix');
    expect(embed?.fields?.[2]?.value).toBe('key-file-mode, save-config');
  });

  it('keeps a long audit within the limits of one embed', () => {
    const findings = Array.from({ length: 30 }, (_, i) => ({
      ...forwarding,
      id: `f-${String(i).padStart(8, '0')}`,
      cause: 'c'.repeat(900),
    }));
    const report = AuditReport.parse({
      hub: 'hub1',
      at: '2025-01-01T00:00:00.000Z',
      findings,
      passed: ['mtu'],
    });
    const [embed] = renderDiscord({ kind: 'audit.report', report }).embeds;
    expect(embed?.fields).toHaveLength(25);
    const size = JSON.stringify([embed?.title, embed?.description, embed?.footer, embed?.fields]).length;
    expect(size).toBeLessThan(6000);
    expect(embed?.description).toContain('30 finding(s)');
  });

  it('puts a "Rotate now" button for the peer on a due or overdue key reminder, none once it is being revoked', () => {
    const reminder = (stage: 'due' | 'overdue' | 'revoking'): Reply => ({
      kind: 'key.reminder',
      stage,
      peer: request.peer,
      hub: request.hub,
      owner: request.requester,
      keyCreatedAt: '2025-01-01T00:00:00.000Z',
      overdueAt: '2025-04-01T00:00:00.000Z',
    });
    for (const stage of ['due', 'overdue'] as const) {
      const payload = renderDiscord(reminder(stage));
      expect(payload.embeds[0]?.description).toContain(request.peer);
      expect(payload.components[0]?.components).toEqual([
        expect.objectContaining({ label: 'Rotate now', custom_id: `tg:rotate:${request.peer}` }),
      ]);
    }
    expect(renderDiscord(reminder('revoking')).components).toEqual([]);
  });

  it('puts a "Revoke now" button on a break-glass notice to leads', () => {
    const payload = renderDiscord({
      kind: 'breakglass.granted',
      requestId: request.id,
      user: request.requester,
      hub: request.hub,
      peer: request.peer,
      mode: 'full',
      incident: { provider: 'opsgenie', id: 'abc-1', title: 'db down', url: null },
      basis: 'lead',
      forMs: 3_600_000,
    });
    expect(payload.embeds[0]?.description).toContain('abc-1');
    expect(payload.components[0]?.components).toEqual([
      expect.objectContaining({ label: 'Revoke now', custom_id: `tg:remove:${request.peer}` }),
    ]);
  });
});

const forwarding: Finding = {
  id: 'f-3k9m2q7a',
  check: 'ip-forward-off',
  severity: 'high',
  title: 'IP forwarding is off',
  evidence: ['net.ipv4.ip_forward = 0'],
  cause: 'The hub does not forward packets between peers and the LAN.',
  fix: 'Enable net.ipv4.ip_forward and persist it in /etc/sysctl.d.',
  action: { type: 'enable-forwarding' },
};
