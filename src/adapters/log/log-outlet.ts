/**
 * The outlet of a bot process with no chat platform configured: messages go to the operator log
 * (without their bodies when they are private, and never a client config).
 */

import type { Outlet } from '../../bot/outlet.js';
import type { Logger } from '../../core/logger.js';
import type { Message } from '../../domain/models/reply.js';

export class LogOutlet implements Outlet {
  constructor(private readonly logger: Logger) {}

  async deliver(message: Message): Promise<void> {
    const to = message.to.type === 'leads' ? 'leads' : message.to.id;
    if (message.private || message.reply.kind === 'peer.config') {
      this.logger.info({ to, kind: message.reply.kind }, 'private message (no chat adapter configured)');
    } else {
      this.logger.info({ to, reply: message.reply }, 'message (no chat adapter configured)');
    }
  }
}
