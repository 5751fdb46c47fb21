// The public surface of @rf/events: the event catalog and the wire protocol.
// Exported by name; test samples live behind @rf/events/testing.
export {
  comparePositions,
  type EventData,
  type Position,
  type RecordedEvent,
  START_POSITION,
} from './catalog/recorded-event';
export { checkClass, type FieldIssue, isCatalogError, isId } from './catalog/validation';
export {
  isJobKind,
  JOB_KINDS,
  type JobArgs,
  type JobFinalStatus,
  type JobKind,
  KEEP_RULES,
  validateJobArgs,
} from './catalog/job-args';
export {
  evolveJobStatus,
  isJobLifecycleEvent,
  isSuccessful,
  isTerminal,
  JOB_STATUSES,
  JOB_TERMINAL_STATUSES,
  type JobLifecycleEvent,
  type JobStatus,
  type JobStatusStep,
  type JobTerminalStatus,
} from './catalog/job-lifecycle';
export {
  jobArgsForSchedule,
  REPOSITORY_SCHEDULE_KINDS,
  RepositorySchedule,
  type RepositoryScheduleKind,
  Schedule,
} from './catalog/schedule';
export {
  jobLockClaims,
  type LockedJob,
  locksCompatible,
  REPOSITORY_LOCKS,
  RESTIC_COMMAND_LOCKS,
  type RepositoryLock,
  type RepositoryLockClaim,
  type ResticCommandName,
} from './catalog/repository-locks';
export {
  EMPTY_REPOSITORIES_STATE,
  evolveRepositories,
  repositoriesOfHost,
  type RepositoriesState,
  type RepositorySecrets,
  type RepositoryState,
  repositoryEventsForConfigured,
} from './catalog/repository-state';
export {
  AGENT_CAPABILITIES,
  type AgentCapability,
  type DisconnectReason,
  FLEET_EVENT_TYPES,
  type FleetEvent,
  type FleetEventDataMap,
  type FleetEventOf,
  type FleetEventType,
  fleetEvent,
  isFleetEventType,
  type UnknownFleetEvent,
  isRepoUrl,
  JobFinishedData,
  JobLostData,
  JobRejectedData,
  LogStreamLineData,
  RepositorySchedulesChangedData,
  SchedulesChangedData,
  Snapshot,
  urlHasCredentials,
} from './catalog/events';
export { EncryptedSecret } from './catalog/encrypted-secret';
export {
  ALERT_RULES,
  ALERT_SEVERITIES,
  alertRuleSettingsIssues,
  type AlertRuleName,
  type AlertRuleSetting,
  type AlertRuleSettings,
  type AlertRulesChangedData,
  type AlertSeverity,
  ChannelRouting,
  hostOverridesIssues,
  isAlertRuleName,
  type NotificationFields,
  NOTIFICATION_TRANSITIONS,
  type NotificationTransition,
  severityRank,
  THRESHOLD_RULES,
} from './catalog/alert-events';
export {
  CHANNEL_FIELDS,
  CHANNEL_KINDS,
  type ChannelFieldSpec,
  type ChannelKind,
  channelSettingsIssues,
  DEFAULT_NTFY_SERVER,
  type EmailSecurity,
  isChannelKind,
  type PlainChannelSettings,
  type SealedChannelSettings,
} from './catalog/channel-settings';
export {
  ALERT_RULES_STREAM,
  alertStream,
  channelStream,
  deliveryStream,
  hostStream,
  nodeStream,
  jobLogStream,
  jobStream,
  parseStreamName,
  repositoryStream,
  schedulesStream,
  STREAM_CATEGORIES,
  streamPrefix,
  type StreamCategory,
} from './catalog/streams';
export {
  eventIdFromEnvelope,
  jobIdForScheduleFire,
  legacyRepositoryId,
  nameBasedUuid,
} from './catalog/event-ids';
export { currentSchemaVersion, upcast } from './catalog/upcasters';
export {
  type EventActor,
  type EventMetadataInput,
  fromRecorded,
  ORIGINAL_CREATED_KEY,
  recordedTime,
  toEventData,
} from './catalog/event-codec';
export {
  AGENT_TO_SERVER,
  QUERY_ANSWERS,
  SERVER_TO_AGENT,
  type WirePayloadMap,
  type WireType,
} from './wire/wire-messages';
export {
  encodeEnvelope,
  type Envelope,
  makeEnvelope,
  makeErrorEnvelope,
  parseEnvelope,
  SUPPORTED_PROTOCOL_VERSIONS,
  type WireMessage,
  type WireMessageOf,
  WireProtocolError,
} from './wire/envelope';
export {
  DUMP_ARCHIVES,
  type DumpArchive,
  isSnapshotPath,
  QUERY_ERROR_CODES,
  QUERY_KINDS,
  type QueryErrorCode,
  type QueryKind,
} from './wire/query-messages';
export {
  eventDataForMessage,
  eventForMessage,
  type MessageEvent,
  metadataForMessage,
} from './wire/message-events';
export { isAgentVersion, isNewerAgentVersion } from './wire/agent-version';
export { isSecretFieldName, REDACTED, redactSecrets, SECRET_FIELD_NAMES } from './wire/secret-fields';
