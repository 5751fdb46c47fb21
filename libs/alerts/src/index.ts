// Rules: a fold over the log plus evaluate(now) (docs/alerts.md).
export {
  AlertRulesProcess,
  BUILT_IN_RULES,
  type AlertDecision,
  type AlertRulesProcessOptions,
} from './rules/alert-rules.process';
export { FleetWatch, type OpenAlert, type WatchedEvent } from './rules/fleet-watch.state';
export {
  effectiveSetting,
  RULE_DEFAULTS,
  type EffectiveRuleSetting,
  type RuleConfiguration,
} from './rules/alert-rule-settings';
export { backupDeadline, type BackupDeadline } from './rules/backup-interval';

// Channels: settings (sealed at rest), formats, senders.
export {
  ChannelSettingsError,
  maskChannelSettings,
  openChannel,
  sealChannelSettings,
  type ChannelSettingsErrorCode,
  type MaskedChannelSettings,
  type OpenedChannel,
  type SecretSealer,
  type SecretState,
} from './channels/channel-config';
export { ChannelSender, type ChannelSenderOptions } from './channels/channel-sender';
export { DeliveryError, type DeliveryErrorCode } from './channels/delivery-error';
export { webhookBody, webhookSignature } from './channels/formats/webhook.format';
export type { AlertNotice, AlertView, JobPing, Notice } from './channels/notice';

// Delivery: what is owed where and when, per-channel queues, the notifier.
export { DeliveryPlanner, type ConfiguredChannel, type DueDelivery } from './delivery/delivery-planner';
export { DeliveryQueue } from './delivery/delivery-queue';
export { deliveryId } from './delivery/delivery-ids';
export { DEFAULT_RETRY_POLICY, nextAttemptAt, type RetryPolicy } from './delivery/retry-policy';
export { DEFAULT_REMINDER_HOURS, routes } from './delivery/routing';
export { systemTimer, type Timer } from './delivery/timer';
export {
  Notifier,
  type DeliveryOutcome,
  type DeliveryRecord,
  type DeliveryRecordLog,
  type NoticeSender,
  type NotifierOptions,
} from './delivery/notifier';
