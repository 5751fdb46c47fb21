import type { EventStore } from '../event-store.port';
import type { EsdbEventStoreOptions } from './esdb-event-store';

export type { EsdbEventStoreOptions } from './esdb-event-store';

type EsdbAdapterModule = typeof import('./esdb-event-store');

/**
 * The EventStoreDB adapter's factory, loading the adapter (and with it
 * `@eventstore/db-client` and gRPC, ~20 MB) on first use: the control plane
 * and its CLIs import `@rf/event-store`, but only ESDB deployments need it.
 */
export function createEsdbEventStore(options: EsdbEventStoreOptions): EventStore {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  const adapter = require('./esdb-event-store') as EsdbAdapterModule;
  return adapter.createEsdbEventStore(options);
}
