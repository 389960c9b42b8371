/**
 * `/vpn help [topic]`: the overview of every subcommand (what it does, who may use it) and, per
 * subcommand, the details with examples. Usage lines come from the grammar's table.
 */

import type { Verb } from '../domain/models/command.js';
import { USAGE, VERBS } from './grammar.js';

interface Topic {
  /** Who may use the subcommand. */
  who: string;
  /** A few lines of detail. */
  details: readonly string[];
  examples: readonly string[];
}

const TOPICS: Readonly<Record<Verb, Topic>> = {
  help: {
    who: 'everyone',
    details: ['Without a topic, lists every command. With one, shows its details and examples.'],
    examples: ['/vpn help', '/vpn help request'],
  },
  request: {
    who: 'everyone',
    details: [
      'Asks for a WireGuard peer for one of your devices; leads review exactly what will change first.',
      '--hub NAME      the hub to join, when Tunnelgate manages several',
      '--full          route all traffic through the VPN (needs --reason and more approvals)',
      "--pubkey KEY    your device's public key; without it a key pair is generated and sent to you privately",
      '--for DURATION  time-bound access, e.g. 8h or 7d; the peer is removed afterwards',
      '--reason TEXT   why you need it; quote text with spaces',
    ],
    examples: [
      '/vpn request laptop',
      '/vpn request phone --hub hub1 --for 8h',
      '/vpn request laptop --full --reason "on-call access from the hotel"',
    ],
  },
  approve: {
    who: 'leads, never for their own requests',
    details: [
      'Approves a pending request. Split-tunnel and full-tunnel requests may need different numbers of',
      'distinct approvers; the peer is provisioned once enough leads have approved.',
      'Approving a failed request again retries provisioning.',
    ],
    examples: ['/vpn approve r-7k3m9q'],
  },
  deny: {
    who: 'leads',
    details: ['Denies a pending request. Everything after the request id is the reason the requester sees.'],
    examples: ['/vpn deny r-7k3m9q', '/vpn deny r-7k3m9q not needed anymore'],
  },
  revoke: {
    who: "the peer's owner and leads",
    details: ['Removes a peer from its hub at once; its key stops working.'],
    examples: ['/vpn revoke alice-laptop'],
  },
  offboard: {
    who: 'leads',
    details: ["Removes every peer of a user on every hub and closes the user's open requests."],
    examples: ['/vpn offboard alice'],
  },
  list: {
    who: 'everyone for "mine"; leads and on-call for "pending" and "all"',
    details: [
      'mine     your peers and requests (the default)',
      'pending  requests waiting for approval',
      'all      every peer on every hub',
    ],
    examples: ['/vpn list', '/vpn list pending', '/vpn list all'],
  },
  status: {
    who: 'everyone for their own peers; on-call and leads for any peer',
    details: ['Shows the latest handshake, transfer and expiry of peers, read live from the hubs.'],
    examples: ['/vpn status', '/vpn status alice-laptop'],
  },
  log: {
    who: 'leads',
    details: [
      'Shows the latest audit log entries (1-200, default 20) and whether the chain of MACs (made with',
      'the deployment secret) is intact; a break names the entry and its time. Only entries added since',
      'the last check are verified again.',
    ],
    examples: ['/vpn log', '/vpn log 50'],
  },
  diagnose: {
    who: 'on-call and leads for any peer or hub; an owner for their own peer',
    details: [
      "Runs the guide's fast diagnosis playbook in order: 1 reachability (UDP port listening and",
      'accepted), 2 handshake (stale after 3 minutes), 3 in-tunnel traffic (ping, firewall on wg0),',
      '4 routing, NAT and DNS, 5 performance (MTU probe, interface errors). A failed step names the',
      'root cause and fix, and the steps above it are skipped. Read-only: nothing on the hub changes.',
    ],
    examples: ['/vpn diagnose alice-laptop', '/vpn diagnose hub1'],
  },
  audit: {
    who: 'leads and on-call',
    details: [
      'Checks a hub for unnecessary holes: extra listeners, input policy, SSH open to all, forward',
      'policy, key file modes, SaveConfig, overlapping or wide AllowedIPs, forwarding, IPv6 filtering',
      'and MTU, and on a sudo hub whether its installed Tunnelgate programs are current. Each',
      'finding has a severity, the lines it is based on, and a fix. Read-only.',
    ],
    examples: ['/vpn audit', '/vpn audit hub1'],
  },
  fix: {
    who: 'anyone who may diagnose proposes; a lead other than the proposer approves',
    details: [
      'Fixable findings (enable forwarding, add masquerade, tighten file modes) carry an id for a day.',
      '/vpn fix <id> shows exactly what will change and asks leads; /vpn fix <id> --approve applies it',
      'and runs the report again. Changes are live: persist them in the saved ruleset and sysctl.d.',
    ],
    examples: ['/vpn fix f-3k9m2q7a', '/vpn fix f-3k9m2q7a --approve'],
  },
  rotate: {
    who: "the peer's owner and leads",
    details: [
      "Replaces the peer's key with no downtime: the new key is staged on the hub next to the old one,",
      'the owner gets the new config privately (same address, same routes), and the moment the new key',
      'connects the address moves to it and the old key is removed. If the new key does not connect',
      'within the rotation window, the rotation is rolled back and the old config keeps working.',
      "--pubkey KEY    the device's new public key; without it a key pair is generated and sent privately",
      'Running it again while a rotation is stuck resumes it.',
    ],
    examples: ['/vpn rotate alice-laptop', '/vpn rotate alice-phone --pubkey <key>'],
  },
  extend: {
    who: "the peer's owner and leads; a lead other than the asker approves",
    details: [
      'Asks to keep a time-bound peer longer. The extension is counted from the current expiry and',
      "needs a lead's approval (/vpn approve <id>), like a request.",
    ],
    examples: ['/vpn extend alice-laptop 4h', '/vpn extend bob-phone 2d'],
  },
  breakglass: {
    who: "whoever is on call now (the provider's schedule or roles.oncall) and leads",
    details: [
      'Gives you a time-bound peer on the hub at once, without approvers, for an incident that is open',
      'at the on-call provider. Every lead is told at once (with the revoke command); access ends at',
      '--for (default policy.breakGlass.for, at most policy.breakGlass.max) or when the incident',
      'resolves, whichever is first, and the leads get a summary. One at a time, policy.breakGlass.perWeek',
      'a week.',
    ],
    examples: [
      '/vpn breakglass hub1 --incident PT4KHLK',
      '/vpn breakglass hub1 --incident PT4KHLK --for 2h --full',
    ],
  },
  review: {
    who: 'leads start one and read the report; each owner answers for their own peers',
    details: [
      'start           a lead opens a review of every peer (or --hub NAME), due in --due (policy.reviewDue);',
      '                every owner gets one message listing their peers; leads answer for people who left',
      'keep|revoke P   your answer for peer P; revoke removes it at once, a kept peer is never revoked',
      'status          answers so far, per owner',
      'report [ID]     the evidence: each peer, who answered what and when, and what the due date did',
      'At the due date unanswered peers are flagged to the leads or revoked (policy.reviewAction).',
    ],
    examples: ['/vpn review start --due 7d', '/vpn review keep alice-laptop', '/vpn review report'],
  },
  resend: {
    who: "the peer's owner",
    details: [
      'When the direct message with a new config could not be delivered (direct messages from the',
      'bot not allowed, the chat platform down), its key is kept sealed and sent again a few times.',
      'Allow direct messages from the bot, then run this to get it now. A delivered config is not',
      'kept: for a new one, rotate the key.',
    ],
    examples: ['/vpn resend alice-laptop'],
  },
  reconcile: {
    who: 'leads',
    details: [
      "Reads every peer of the hub's live interface and config file and reports: in sync; managed peers",
      'missing live or from the file; foreign peers (not made by Tunnelgate: short key, AllowedIPs,',
      'endpoint, latest handshake, live and/or in the file); overlapping AllowedIPs, naming both holders.',
      'Foreign addresses and routes are reserved, so no request is offered them; a foreign peer removed',
      'by hand frees them at the next reconcile. Runs on its own every policy.reconcileEvery too.',
    ],
    examples: ['/vpn reconcile', '/vpn reconcile hub1'],
  },
  adopt: {
    who: 'leads',
    details: [
      'Puts a foreign peer (see /vpn reconcile) under management. The key prefix must match exactly one',
      'foreign peer on the hub, and the peer must hold one tunnel address in the hub subnet.',
      'A metadata comment is added to its [Peer] section (every other byte of the file is kept); a',
      'live-only peer gets a section. Its key counts as new: rotation is due after policy.keyMaxAge.',
      'From then on revoke, rotate, expiry, reminders and diagnose treat it like any other peer.',
      '--owner USER   who owns it from now on',
      '--name DEVICE  its device name (the peer is named <owner>-<device>)',
      'Many at once: tunnelgate hub adopt HUB --owners FILE --as LEAD [--dry-run].',
    ],
    examples: ['/vpn adopt hub1 Xy3k9Q --owner alice --name office-gw'],
  },
};

/**
 * The help text: an overview of all subcommands without a topic, or one subcommand's details and
 * examples. An unknown topic gets the overview with a note.
 */
export function helpText(topic?: string): string {
  const verb = VERBS.find((v) => v === topic?.toLowerCase());
  if (verb !== undefined) return topicText(verb);
  const note = topic === undefined ? [] : [`There is no help topic "${topic}".`, ''];
  return [...note, ...overview()].join('\n');
}

function overview(): string[] {
  return [
    'Tunnelgate: WireGuard access from chat.',
    '',
    ...VERBS.flatMap((verb) => [USAGE[verb].usage, `    ${USAGE[verb].summary}. Who: ${TOPICS[verb].who}.`]),
    '',
    'Details and examples: /vpn help <command>, e.g. /vpn help request',
  ];
}

function topicText(verb: Verb): string {
  const topic = TOPICS[verb];
  return [
    USAGE[verb].usage,
    '',
    `${USAGE[verb].summary}.`,
    `Who: ${topic.who}.`,
    '',
    ...topic.details,
    '',
    'Examples:',
    ...topic.examples.map((example) => `  ${example}`),
  ].join('\n');
}
