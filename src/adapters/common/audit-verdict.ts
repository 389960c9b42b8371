/** The verdict line of `/vpn log`, shared by the plain-text and Slack renderers. Pure. */
import type { Reply } from '../../domain/models/reply.js';

type AuditLogReply = Extract<Reply, { kind: 'audit.log' }>;

/**
 * Whether the MAC chain verified and, when it did not, which link breaks (stream id, time) and
 * why; also a warning when the stored verification checkpoint was refused.
 */
export function auditVerdict(reply: AuditLogReply): string[] {
  const refused = reply.checkpointRefused
    ? [
        'Warning: the verification checkpoint did not verify (forged, or made with another secret); it was ignored and the whole chain was checked.',
      ]
    : [];
  if (reply.chainIntact)
    return [...refused, 'Audit chain: intact (every entry is MACed with the deployment secret).'];
  const where =
    reply.broken === undefined
      ? ''
      : ` at entry ${reply.broken.seq}${reply.broken.at === undefined ? '' : ` (${reply.broken.at})`}: ${reply.broken.reason}`;
  return [...refused, `Audit chain: BROKEN${where}. The audit log was altered or damaged; tell an operator.`];
}
