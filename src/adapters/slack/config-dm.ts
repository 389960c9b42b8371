/**
 * Sends a client config to its owner: a DM (conversations.open) with instructions, the config as a
 * `.conf` file and its QR code as a PNG, uploaded into that DM only. The config text is never put
 * in a channel, a thread, an ephemeral or a response_url post.
 */
import type { Reply } from '../../domain/models/reply.js';
import { context, escapeMrkdwn, section } from './blocks.js';
import type { SlackApi } from './slack-api.js';

type PeerConfig = Extract<Reply, { kind: 'peer.config' }>;

/** DMs `config` to `owner`. Throws when Slack refuses (the notifier then reports the error). */
export async function configDm(api: SlackApi, owner: string, config: PeerConfig): Promise<void> {
  const channel = await api.openDm(owner);
  const peer = escapeMrkdwn(config.peer);
  await api.postMessage(channel, {
    text: `Your WireGuard config for ${config.peer} on ${config.hub}`,
    blocks: [
      section(
        `:key: *Your WireGuard config for \`${peer}\`* on ${escapeMrkdwn(config.hub)} (request \`${config.requestId}\`).\n` +
          'Import the attached `.conf` file in the WireGuard app, or scan the QR code with your phone.',
      ),
      ...(config.ownKey
        ? [section("Put your device's private key in place of the `PrivateKey` placeholder.")]
        : []),
      context('Keep it private: anyone with this file can connect as you. It is sent only here, once.'),
    ],
  });
  await api.uploadFiles(
    channel,
    [
      { filename: `${config.peer}.conf`, title: `${config.peer}.conf`, data: Buffer.from(config.configText) },
      {
        filename: `${config.peer}-qr.png`,
        title: `${config.peer} QR code`,
        data: Buffer.from(config.qrPngBase64, 'base64'),
      },
    ],
    `WireGuard config and QR code for ${config.peer}`,
  );
}
