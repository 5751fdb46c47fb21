export {
  AlertRulesProcess,
  BUILT_IN_RULES,
  type AlertDecision,
  type AlertRulesProcessOptions,
} from './rules/alert-rules.process';
export { type WatchedEvent } from './rules/fleet-watch.state';
export {
  effectiveSetting,
  RULE_DEFAULTS,
  type EffectiveRuleSetting,
  type RuleConfiguration,
} from './rules/alert-rule-settings';
export { backupDeadline, type BackupDeadline } from './rules/backup-interval';
