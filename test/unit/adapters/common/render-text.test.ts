import { describe, expect, it } from 'vitest';
import { formatBytes, formatHandshakeAge, renderText } from '../../../../src/adapters/common/render-text.js';
import { Reply, type ReplyKind } from '../../../../src/domain/models/reply.js';
import { AccessRequest } from '../../../../src/domain/models/request.js';
import { displayGate } from '../../../support/gate.js';

const request = AccessRequest.parse({
  id: 'r-7k3m9q',
  requester: 'alice',
  device: 'laptop',
  peer: 'alice-laptop',
  hub: 'hub1',
  mode: 'full',
  publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  generatedKey: true,
  reason: 'on-call access',
  forMs: 8 * 3_600_000,
  state: 'pending',
  gate: displayGate({ required: 2, until: '2025-05-04T09:00:00.000Z', approvedBy: ['bob'] }),
  createdAt: '2025-05-01T09:00:00.000Z',
  history: [],
});

const preview = {
  hub: 'hub1',
  peer: 'alice-laptop',
  mode: 'full',
  address: '10.6.0.7/32',
  hubAllowedIps: ['10.6.0.7/32'],
  clientAllowedIps: ['0.0.0.0/0', '::/0'],
  endpoint: 'vpn.example.com:51820',
  forMs: 8 * 3_600_000,
  approvalsRequired: 2,
};

const peer = {
  peer: 'alice-laptop',
  hub: 'hub1',
  owner: 'alice',
  address: '10.6.0.7/32',
  mode: 'split',
  publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
  createdAt: '2025-05-01T09:00:00.000Z',
  expiresAt: null,
  handshakeAgeSec: 12,
  rxBytes: 1_572_864,
  txBytes: 512,
  live: true,
};

/** One sample per reply kind; the mapped type makes a missing kind a compile error. */
const samples: { [K in ReplyKind]: unknown } = {
  help: { kind: 'help', text: 'the help text' },
  notice: { kind: 'notice', text: 'hub1 is back' },
  error: {
    kind: 'error',
    code: 'INPUT_INVALID',
    message: '"lap top" is not valid',
    hint: 'see help',
    usage: '/vpn x',
  },
  'request.pending': { kind: 'request.pending', request, preview },
  'request.review': { kind: 'request.review', request, preview },
  'request.approved': {
    kind: 'request.approved',
    requestId: 'r-7k3m9q',
    by: 'bob',
    approvals: ['bob'],
    required: 2,
    queued: false,
  },
  'request.denied': { kind: 'request.denied', requestId: 'r-7k3m9q', by: 'bob', reason: 'not needed' },
  'request.expired': { kind: 'request.expired', requestId: 'r-7k3m9q', peer: 'alice-laptop' },
  'request.state': {
    kind: 'request.state',
    requestId: 'r-7k3m9q',
    state: 'provisioning',
    text: 'working on it',
  },
  'peer.provisioned': {
    kind: 'peer.provisioned',
    requestId: 'r-7k3m9q',
    peer: 'alice-laptop',
    hub: 'hub1',
    address: '10.6.0.7/32',
    owner: 'alice',
    hubPublicKey: 'HUBKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=',
    expiresAt: '2025-05-01T19:00:00.000Z',
  },
  'peer.config': {
    kind: 'peer.config',
    requestId: 'r-7k3m9q',
    peer: 'alice-laptop',
    hub: 'hub1',
    configText: '[Interface]\nAddress = 10.6.0.7/32\n',
    qrTerminal: '█▀▀▀▀▀█ QR\n',
    qrPngBase64: 'iVBORw0KGgo=',
    ownKey: true,
  },
  'peer.failed': {
    kind: 'peer.failed',
    requestId: 'r-7k3m9q',
    peer: 'alice-laptop',
    hub: 'hub1',
    action: 'provision',
    error: { code: 'SSH_TIMEOUT', message: 'hub1 did not answer' },
  },
  'peer.revoked': { kind: 'peer.revoked', peer: 'alice-laptop', hub: 'hub1', by: 'bob', cause: 'offboard' },
  'peer.list': {
    kind: 'peer.list',
    scope: 'all',
    peers: [
      peer,
      { ...peer, peer: 'bob-phone', owner: 'bob', handshakeAgeSec: null, rxBytes: 0, txBytes: 0 },
      {
        ...peer,
        peer: 'carol-pc',
        owner: 'carol',
        handshakeAgeSec: null,
        rxBytes: null,
        txBytes: null,
        live: false,
      },
    ],
    pending: [request],
  },
  'peer.status': { kind: 'peer.status', peers: [peer] },
  'audit.log': {
    kind: 'audit.log',
    entries: [
      {
        seq: '41',
        at: '2025-05-01T10:00:00.000Z',
        actor: 'bob',
        action: 'approve',
        hub: 'hub1',
        target: 'r-7k3m9q',
        result: 'queued',
      },
    ],
    chainIntact: true,
  },
  'reconcile.report': {
    kind: 'reconcile.report',
    hub: 'hub1',
    inSync: false,
    findings: [{ type: 'foreign', publicKey: 'ZZZ=', detail: 'not made by Tunnelgate' }],
  },
  'adopt.report': {
    kind: 'adopt.report',
    hub: 'hub1',
    dryRun: true,
    peers: [
      {
        peer: 'alice-gw',
        owner: 'alice',
        publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
        address: '10.6.0.2/32',
        allowedIps: ['10.6.0.2/32', '192.168.50.0/24'],
        where: 'both',
      },
    ],
  },
  'job.queued': { kind: 'job.queued', jobId: 'job-17', text: 'Listing peers on hub1…' },
  'diagnose.report': {
    kind: 'diagnose.report',
    report: {
      hub: 'hub1',
      target: { type: 'peer', peer: 'alice-laptop' },
      at: '2025-05-01T09:00:00.000Z',
      steps: [
        {
          step: 1,
          name: 'reachability',
          verdict: 'pass',
          summary: 'UDP 51820 is listening',
          evidence: ['udp UNCONN 0.0.0.0:51820'],
          findings: [],
        },
        {
          step: 2,
          name: 'handshake',
          verdict: 'fail',
          summary: 'alice-laptop never completed a handshake',
          evidence: [],
          findings: [
            {
              id: 'f-abcdefgh',
              check: 'no-handshake',
              severity: 'high',
              title: 'never',
              evidence: ['peer x'],
              cause: 'wrong keys',
              fix: 're-deliver',
            },
          ],
        },
      ],
    },
  },
  'audit.report': {
    kind: 'audit.report',
    report: {
      hub: 'hub1',
      at: '2025-05-01T09:00:00.000Z',
      findings: [
        {
          id: 'f-abcdefgh',
          check: 'key-file-mode',
          severity: 'high',
          title: 'wg0.conf is world-readable',
          evidence: ['644 root /etc/wireguard/wg0.conf'],
          cause: 'leaks the key',
          fix: 'chmod 600',
          action: { type: 'chmod-600', paths: ['/etc/wireguard/wg0.conf'] },
        },
      ],
      passed: ['listeners'],
    },
  },
  'fix.pending': {
    kind: 'fix.pending',
    hub: 'hub1',
    proposedBy: 'carol',
    review: true,
    finding: {
      id: 'f-abcdefgh',
      check: 'ip-forward-off',
      severity: 'high',
      title: 'forwarding is off',
      evidence: ['net.ipv4.ip_forward = 0'],
      cause: 'missing forwarding',
      fix: 'enable it',
      action: { type: 'enable-forwarding' },
    },
  },
  'fix.applied': {
    kind: 'fix.applied',
    hub: 'hub1',
    findingId: 'f-abcdefgh',
    proposedBy: 'carol',
    approvedBy: 'alice',
    changed: ['sysctl -w net.ipv4.ip_forward=1'],
  },
  'peer.rotation': {
    kind: 'peer.rotation',
    phase: 'staged',
    requestId: 'r-7k3m9q',
    peer: 'alice-laptop',
    hub: 'hub1',
    owner: 'alice',
    address: '10.6.0.7/32',
    mode: 'split',
    newPublicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
    ownKey: false,
    deadline: '2025-05-02T09:00:00.000Z',
  },
  'key.reminder': {
    kind: 'key.reminder',
    stage: 'overdue',
    peer: 'alice-laptop',
    hub: 'hub1',
    owner: 'alice',
    keyCreatedAt: '2025-01-01T09:00:00.000Z',
    overdueAt: '2025-04-01T09:00:00.000Z',
    revokeAt: '2025-04-08T09:00:00.000Z',
  },
  'peer.idle': { kind: 'peer.idle', idleAfterMs: 30 * 86_400_000, peers: [peer] },
  'peer.expiring': {
    kind: 'peer.expiring',
    requestId: 'r-7k3m9q',
    peer: 'alice-laptop',
    hub: 'hub1',
    expiresAt: '2025-05-01T17:00:00.000Z',
  },
  'extension.pending': {
    kind: 'extension.pending',
    id: 'x-x2x2x2',
    peer: 'alice-laptop',
    hub: 'hub1',
    owner: 'alice',
    requester: 'alice',
    forMs: 4 * 3_600_000,
    expiresAt: '2025-05-01T17:00:00.000Z',
    review: true,
  },
  'extension.decided': {
    kind: 'extension.decided',
    id: 'x-x2x2x2',
    peer: 'alice-laptop',
    by: 'bob',
    approved: true,
    expiresAt: '2025-05-01T21:00:00.000Z',
  },
  'breakglass.granted': {
    kind: 'breakglass.granted',
    requestId: 'r-7k3m9q',
    user: 'carol',
    hub: 'hub1',
    peer: 'carol-bg-7k3m9q',
    mode: 'split',
    incident: {
      provider: 'pagerduty',
      id: 'PT4KHLK',
      title: 'db down',
      url: 'https://x.pagerduty.com/incidents/PT4KHLK',
    },
    basis: 'oncall',
    forMs: 4 * 3_600_000,
  },
  'breakglass.ended': {
    kind: 'breakglass.ended',
    requestId: 'r-7k3m9q',
    user: 'carol',
    hub: 'hub1',
    peer: 'carol-bg-7k3m9q',
    incident: { provider: 'pagerduty', id: 'PT4KHLK', title: 'db down', url: null },
    from: '2025-05-01T09:00:00.000Z',
    to: '2025-05-01T10:00:00.000Z',
    cause: 'incident resolved',
    latestHandshake: '2025-05-01T09:30:00.000Z',
    rxBytes: 1024,
    txBytes: 2048,
  },
  'review.ask': {
    kind: 'review.ask',
    reviewId: 'v-7k3m9q',
    at: '2025-05-08T09:00:00.000Z',
    dueAt: '2025-05-15T09:00:00.000Z',
    reminder: false,
    forLeads: false,
    items: [
      {
        hub: 'hub1',
        peer: 'alice-laptop',
        owner: 'alice',
        publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=',
        requestId: 'r-7k3m9q',
        address: '10.6.0.7/32',
        mode: 'split',
        keyCreatedAt: '2025-05-01T09:00:00.000Z',
        expiresAt: null,
        handshakeAgeSec: 7_200,
        handshakeKnown: true,
        reviewer: 'owner',
        decision: null,
        outcome: null,
        outcomeAt: null,
      },
    ],
  },
  'review.status': {
    kind: 'review.status',
    reviewId: 'v-7k3m9q',
    state: 'open',
    dueAt: '2025-05-15T09:00:00.000Z',
    progress: [{ reviewer: 'alice', total: 2, kept: 1, revoked: 0, unanswered: 1 }],
  },
  'review.report': {
    kind: 'review.report',
    reviewId: 'v-7k3m9q',
    markdown: '# Access review v-7k3m9q',
    csv: 'review\r\n',
  },
};

function sample<K extends ReplyKind>(kind: K): Extract<Reply, { kind: K }> {
  return Reply.parse(samples[kind]) as Extract<Reply, { kind: K }>;
}

describe('renderText', () => {
  it.each(Object.keys(samples) as ReplyKind[])('renders %s as non-empty text', (kind) => {
    const text = renderText(sample(kind));
    expect(text.trim().length).toBeGreaterThan(0);
    expect(text).not.toContain('undefined');
    expect(text).not.toContain('[object Object]');
  });

  it('tells leads of a break-glass grant with its incident and the revoke command', () => {
    const text = renderText(sample('breakglass.granted'));
    for (const fact of [
      'carol (on call)',
      'hub1',
      'PT4KHLK',
      '"db down"',
      'https://x.pagerduty.com',
      '/vpn revoke carol-bg-7k3m9q',
    ]) {
      expect(text).toContain(fact);
    }
  });

  it('asks an owner about each peer with its handshake and the keep / revoke commands', () => {
    const text = renderText(sample('review.ask'));
    for (const fact of [
      'v-7k3m9q',
      '2025-05-15T09:00:00.000Z',
      'alice-laptop on hub1',
      '10.6.0.7/32',
      'last handshake 2h ago',
      'key 7d old',
      'no expiry',
      '/vpn review keep alice-laptop',
      '/vpn review revoke alice-laptop',
    ])
      expect(text).toContain(fact);
    expect(renderText(sample('review.status'))).toContain(
      'alice: 1/2 answered (1 kept, 0 revoked, 1 waiting)',
    );
  });

  it('shows the error message, next step and usage', () => {
    expect(renderText(sample('error'))).toBe(
      'Error [INPUT_INVALID]: "lap top" is not valid\nNext: see help\nUsage: /vpn x',
    );
  });

  it('shows leads the change preview and the exact commands to decide', () => {
    const text = renderText(sample('request.review'));
    for (const fact of [
      'alice asks for VPN access',
      'Reason: on-call access',
      'hub1 (vpn.example.com:51820)',
      'alice-laptop',
      '10.6.0.7/32',
      '0.0.0.0/0, ::/0',
      'full tunnel',
      '8h',
      'Approvals needed   2',
      '1 of 2 approvals',
      '/vpn approve r-7k3m9q',
      '/vpn deny r-7k3m9q',
    ]) {
      expect(text).toContain(fact);
    }
    expect(text).toMatch(/Hub AllowedIPs\s+10\.6\.0\.7\/32/);
    expect(text).toMatch(/Client AllowedIPs\s+0\.0\.0\.0\/0/);
  });

  it('warns in the review when the hub has foreign peers or overlapping AllowedIPs', () => {
    const drift = {
      hub: 'hub1',
      at: '2025-05-01T08:00:00.000Z',
      foreign: ['Ab12Cd34…'],
      overlaps: ['10.6.0.2/32 of foreign Ab12Cd34… overlaps 10.6.0.0/28 of foreign Zz99Yy88…'],
    };
    const text = renderText(Reply.parse({ kind: 'request.review', request, preview: { ...preview, drift } }));
    expect(text).toContain(
      'Warning: hub hub1 has drifted (reconcile at 2025-05-01T08:00:00.000Z): 1 foreign peer not made by Tunnelgate (Ab12Cd34…); 1 AllowedIPs overlap (10.6.0.2/32 of foreign Ab12Cd34… overlaps 10.6.0.0/28 of foreign Zz99Yy88…). See /vpn reconcile hub1.',
    );
    expect(renderText(sample('request.review'))).not.toContain('drifted');
  });

  it('shows permanent access when there is no duration', () => {
    const { forMs: _omit, ...permanent } = preview;
    const text = renderText(Reply.parse({ kind: 'request.pending', request, preview: permanent }));
    expect(text).toMatch(/Duration\s+permanent/);
    expect(text).toContain('expires unless approved by 2025-05-04T09:00:00.000Z');
  });

  it('lists peers with handshake age and transfer, and pending requests', () => {
    const text = renderText(sample('peer.list'));
    expect(text).toContain('12s ago');
    expect(text).toContain('never');
    expect(text).toContain('unknown');
    expect(text).toContain('rx 1.5 MiB / tx 512 B');
    expect(text).toContain('Pending requests:');
    expect(text).toMatch(/r-7k3m9q\s+alice-laptop\s+hub1\s+full\s+1\/2/);
    const header = text.split('\n')[1] ?? '';
    expect(header).toMatch(/^PEER\s+HUB\s+OWNER\s+ADDRESS\s+MODE\s+HANDSHAKE\s+TRANSFER\s+EXPIRES$/);
  });

  it('says when there are no peers', () => {
    expect(renderText(Reply.parse({ kind: 'peer.list', scope: 'mine', peers: [], pending: [] }))).toBe(
      'No peers (mine).',
    );
  });

  it('shows whether the audit chain is intact, and names the link that breaks', () => {
    expect(renderText(sample('audit.log'))).toContain('Audit chain: intact');
    const broken = renderText(Reply.parse({ ...sample('audit.log'), chainIntact: false }));
    expect(broken).toContain('Audit chain: BROKEN');
    const named = renderText(
      Reply.parse({
        ...sample('audit.log'),
        chainIntact: false,
        broken: {
          seq: '1740821400000-0',
          at: '2025-03-01T09:30:00.000Z',
          reason: 'the entry does not match its MAC',
        },
        checkpointRefused: true,
      }),
    );
    expect(named).toContain(
      'Audit chain: BROKEN at entry 1740821400000-0 (2025-03-01T09:30:00.000Z): the entry does not match its MAC.',
    );
    expect(named).toContain('the verification checkpoint did not verify');
    expect(broken).toMatch(/41\s+2025-05-01T10:00:00.000Z\s+bob\s+approve\s+hub1\s+r-7k3m9q\s+queued/);
  });

  it('shows the config text and the terminal QR code', () => {
    const text = renderText(sample('peer.config'));
    expect(text).toContain('[Interface]\nAddress = 10.6.0.7/32');
    expect(text).toContain('█▀▀▀▀▀█ QR');
    expect(text).toContain('PrivateKey placeholder');
  });

  it('shows a failure with a default next step', () => {
    const text = renderText(sample('peer.failed'));
    expect(text).toContain('Could not provision peer alice-laptop on hub1 (request r-7k3m9q): [SSH_TIMEOUT]');
    expect(text).toContain('Next: the hub is slow to answer');
  });

  it('counts the approvals still needed', () => {
    expect(renderText(sample('request.approved'))).toBe(
      'bob approved request r-7k3m9q (1 of 2 approvals); 1 more approval needed.',
    );
    const queued = Reply.parse({ ...sample('request.approved'), approvals: ['bob', 'carol'], queued: true });
    expect(renderText(queued)).toContain('provisioning is queued');
  });

  it('explains why a peer was removed', () => {
    expect(renderText(sample('peer.revoked'))).toBe(
      'Peer alice-laptop was removed from hub1 by bob (owner offboarded).',
    );
  });

  it('shows a key rotation in progress in the status, with its state and the new key', () => {
    const rotation = {
      state: 'staged',
      newPublicKey: 'NEWKEYBA5rboUvnH4htodjb6e697QjLERt1NAB4mZ=',
      startedAt: '2025-05-01T09:00:00.000Z',
      deadline: '2025-05-02T09:00:00.000Z',
    };
    const text = renderText(Reply.parse({ kind: 'peer.status', peers: [{ ...peer, rotation }] }));
    expect(text).toContain(
      'Key rotation      staged: waiting for the new key to connect; the current key keeps working (rolled back at 2025-05-02T09:00:00.000Z if it never connects); new key NEWKEYBA5rboUvnH4htodjb6e697QjLERt1NAB4mZ=, since 2025-05-01T09:00:00.000Z',
    );
    expect(renderText(sample('peer.status'))).not.toContain('Key rotation');
  });

  it('lists drift findings', () => {
    const text = renderText(sample('reconcile.report'));
    expect(text).toContain('has drifted');
    expect(text).toMatch(/foreign\s+-\s+ZZZ=\s+not made by Tunnelgate/);
  });

  it('says a dry run of adopt changed nothing and lists the peers it would adopt', () => {
    const text = renderText(sample('adopt.report'));
    expect(text).toContain(
      'Dry run: adopting would put 1 peer(s) on hub hub1 under management; nothing was changed.',
    );
    expect(text).toMatch(/alice-gw\s+alice\s+10\.6\.0\.2\/32\s+10\.6\.0\.2\/32,192\.168\.50\.0\/24\s+both/);
  });
});

describe('formatHandshakeAge', () => {
  it('says how long ago, never, or unknown', () => {
    expect(formatHandshakeAge({ handshakeAgeSec: 12, live: true })).toBe('12s ago');
    expect(formatHandshakeAge({ handshakeAgeSec: 3_900, live: true })).toBe('1h 5m ago');
    expect(formatHandshakeAge({ handshakeAgeSec: 0, live: true })).toBe('just now');
    expect(formatHandshakeAge({ handshakeAgeSec: null, live: true })).toBe('never');
    expect(formatHandshakeAge({ handshakeAgeSec: null, live: false })).toBe('unknown');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1_023)).toBe('1023 B');
    expect(formatBytes(1_536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});
