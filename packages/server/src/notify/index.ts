/**
 * Outbound notifications: signed JSON webhooks and Slack incoming webhooks, on incident
 * open, triage result, rollback, break-glass use and resolve. See docs/incidents.md.
 */
export { NOTIFICATION_KINDS, KIND_TITLES, type NotificationEvent, type NotificationIncident, type NotificationKind } from './event.ts';
export {
  parseNotifyTargets, targetLabel, MIN_SECRET_LENGTH,
  type NotifyTarget, type WebhookTarget, type SlackTarget, type NotifyConfigError, type NotifyConfigErrorCode, type NotifyTargetsParse,
} from './targets.ts';
export {
  webhookRequest, signWebhook, verifyWebhookSignature, DEFAULT_TOLERANCE_SEC,
  type OutboundRequest, type SignatureCheck,
} from './webhook.ts';
export { standardSecret } from './secret.ts';
export { slackPayload, slackRequest, type SlackPayload, type SlackBlock, type PlainText, type Mrkdwn } from './slack.ts';
export { outcomeOf, type AttemptOutcome } from './retry.ts';
export { backoffDelayMs, retryAfterMs } from '@failsmall/io';
export { Notifier, type NotifierOptions, type NotifyLog, type TargetStats, type DeliveryResult } from './notifier.ts';
