// The public surface of @rf/event-store: the EventStore port, its SQLite and
// EventStoreDB adapters, configuration and the Nest module. Exported by name;
// the contract suite and test helpers live behind @rf/event-store/testing.
export {
  DEFAULT_MAX_APPEND_SIZE,
  EVENT_STORE,
  EventStoreError,
  isEventStoreError,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type StreamMetadata,
  type SubscribeToAllOptions,
  type SubscriptionItem,
} from './event-store.port';
export {
  LogConsumer,
  LogConsumerError,
  isLogConsumerError,
  type LogBatch,
  type LogBatchOutcome,
  type LogConsumerErrorCode,
  type LogConsumerLag,
  type LogConsumerOptions,
} from './log.consumer';
export {
  ensureLogIdentity,
  LOG_IDENTITY_STREAM,
  readLogIdentity,
  type LogIdentityOptions,
} from './log-identity';
export { createSqliteEventStore } from './sqlite/sqlite-event-store';
export {
  createEventStore,
  createEventStoreFromEnv,
  parseEventStoreConfig,
  EventStoreConfigError,
  type EventStoreConfig,
} from './event-store.config';
export { EventStoreModule } from './event-store.module';
export { inspectSqliteWal } from './sqlite/sqlite-wal.inspector';
export { SqliteWalCheckpointer } from './sqlite/sqlite-wal.checkpointer';
