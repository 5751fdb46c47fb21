export * from './store/event-store.port';
export * from './catalog/validation';
export * from './catalog/job-args';
export * from './catalog/schedule';
export * from './catalog/encrypted-secret';
export * from './catalog/channel-settings';
export * from './catalog/alert-events';
export * from './catalog/events';
export * from './catalog/streams';
export * from './catalog/event-ids';
export * from './catalog/upcasters';
export * from './catalog/event-codec';
export * from './wire/wire-messages';
export * from './wire/envelope';
export * from './wire/message-events';
export {
  createSqliteEventStore,
  SqliteEventStore,
  type SqliteEventStoreOptions,
} from './store/sqlite/sqlite-event-store';
export { createEsdbEventStore, type EsdbEventStoreOptions } from './store/esdb/esdb-event-store.factory';
export {
  createEventStore,
  createEventStoreFromEnv,
  describeEventStoreConfig,
  parseEventStoreConfig,
  EventStoreConfigError,
  RF_EVENTSTORE_FORMS,
  type CreateEventStoreOptions,
  type EventStoreConfig,
  type EventStoreEnv,
} from './store/event-store.config';
export { EventStoreModule, type EventStoreModuleOptions } from './store/event-store.module';
export { inspectSqliteWal, walHasTornTail, type WalInspection } from './store/sqlite/sqlite-wal.inspector';
