/**
 * The approval card's buttons. A click passes through the same gate as the typed command
 * (`runCommand` approve/deny): a non-lead or the requester themself gets the gate's refusal as an
 * ephemeral reply. Deny asks a lead for a reason in a modal (views.open with the click's
 * trigger_id); submitting it denies. Every listener acknowledges before doing anything else.
 */
import type { App, BlockAction, ButtonAction, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { runCommand } from '../../bot/dispatch.js';
import { RequestId } from '../../core/ids.js';
import { Reason } from '../../domain/models/command.js';
import { isLead } from '../../domain/roles.js';
import { slackActor } from './actor.js';
import { ACTION } from './approval-card.js';
import { deliverReplies, type HandlerDeps } from './handler-deps.js';
import type { Origin } from './origins.js';

/** What the deny modal carries from the click to the submission. */
const DenyMetadata = z.object({ requestId: RequestId, channel: z.string(), responseUrl: z.string() });

/** Registers the Approve/Deny buttons and the deny modal on the app. */
export function registerApprovalActions(app: App, deps: HandlerDeps): void {
  app.action<BlockAction<ButtonAction>>(ACTION.approve, async ({ ack, body, action }) => {
    await ack();
    await onApprove(deps, body, action).catch((err) =>
      deps.logger.error({ err, user: body.user.id }, 'slack: approve click failed after ack'),
    );
  });
  app.action<BlockAction<ButtonAction>>(ACTION.deny, async ({ ack, body, action }) => {
    await ack();
    await onDeny(deps, body, action).catch((err) =>
      deps.logger.error({ err, user: body.user.id }, 'slack: deny click failed after ack'),
    );
  });
  app.view<ViewSubmitAction>(ACTION.denyModal, async ({ ack, body, view }) => {
    const reason = view.state.values[ACTION.reasonBlock]?.[ACTION.reasonInput]?.value ?? '';
    const checked = reason.trim() === '' ? undefined : Reason.safeParse(reason.trim());
    if (checked !== undefined && !checked.success) {
      await ack({
        response_action: 'errors',
        errors: {
          [ACTION.reasonBlock]: `${checked.error.issues[0]?.message ?? 'invalid reason'}.`,
        },
      });
      return;
    }
    await ack();
    await onDenySubmit(deps, body, checked?.data).catch((err) =>
      deps.logger.error({ err, user: body.user.id }, 'slack: deny submission failed after ack'),
    );
  });
}

function clickOrigin(body: BlockAction): Origin {
  const channel = body.channel?.id ?? String(body.container.channel_id ?? '');
  return { user: body.user.id, channel, responseUrl: body.response_url };
}

async function onApprove(deps: HandlerDeps, body: BlockAction, action: ButtonAction): Promise<void> {
  const actor = slackActor(body.user.id);
  const requestId = RequestId.safeParse(action.value);
  if (!requestId.success) {
    deps.logger.warn({ value: action.value }, 'slack: approve button without a request id');
    return;
  }
  const messages = await runCommand(deps.ctx, actor, { verb: 'approve', requestId: requestId.data });
  await deliverReplies(deps, actor, messages, clickOrigin(body));
}

async function onDeny(deps: HandlerDeps, body: BlockAction, action: ButtonAction): Promise<void> {
  const actor = slackActor(body.user.id);
  const requestId = RequestId.safeParse(action.value);
  if (!requestId.success) {
    deps.logger.warn({ value: action.value }, 'slack: deny button without a request id');
    return;
  }
  const origin = clickOrigin(body);
  if (!isLead(actor, deps.ctx.config.roles)) {
    // No modal for someone the gate will refuse: run the command so they get its refusal.
    const messages = await runCommand(deps.ctx, actor, { verb: 'deny', requestId: requestId.data });
    await deliverReplies(deps, actor, messages, origin);
    return;
  }
  const metadata: z.infer<typeof DenyMetadata> = {
    requestId: requestId.data,
    channel: origin.channel,
    responseUrl: body.response_url,
  };
  await deps.api.openModal(body.trigger_id, {
    type: 'modal',
    callback_id: ACTION.denyModal,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Deny VPN request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: ACTION.reasonBlock,
        optional: true,
        label: { type: 'plain_text', text: `Why is ${requestId.data} denied?` },
        element: {
          type: 'plain_text_input',
          action_id: ACTION.reasonInput,
          max_length: 300,
          placeholder: { type: 'plain_text', text: 'The requester sees this reason' },
        },
      },
    ],
  });
}

async function onDenySubmit(deps: HandlerDeps, body: ViewSubmitAction, reason: string | undefined) {
  const actor = slackActor(body.user.id);
  const metadata = DenyMetadata.safeParse(JSON.parse(body.view.private_metadata || '{}'));
  if (!metadata.success) {
    deps.logger.warn('slack: deny modal without valid metadata');
    return;
  }
  const messages = await runCommand(deps.ctx, actor, {
    verb: 'deny',
    requestId: metadata.data.requestId,
    ...(reason === undefined ? {} : { reason }),
  });
  await deliverReplies(deps, actor, messages, {
    user: body.user.id,
    channel: metadata.data.channel,
    responseUrl: metadata.data.responseUrl,
  });
}
