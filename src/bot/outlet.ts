/** Where the bot's messages go: each adapter implements this for its platform. */
import type { Message } from '../domain/models/reply.js';

export interface Outlet {
  /** Delivers one message; `to: leads` is the adapter's approvals channel or the leads' DMs. */
  deliver(message: Message): Promise<void>;
}
