import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { EVENT_STORE, type EventStore } from './event-store.port';
import {
  createEventStore,
  describeEventStoreConfig,
  parseEventStoreConfig,
  type EventStoreConfig,
  type EventStoreEnv,
} from './event-store.config';

export interface EventStoreModuleOptions {
  /** Where `RF_EVENTSTORE` / `RF_DATA_DIR` are read from. Default: `process.env` at boot. */
  readonly env?: EventStoreEnv;
  /** An already parsed configuration; wins over `env`. */
  readonly config?: EventStoreConfig;
  /**
   * Runs once the store is open, before anything can inject it (so before any
   * read model or state reads a checkpoint); a rejection fails the boot and
   * the store is closed.
   */
  readonly onOpen?: (store: EventStore) => Promise<void>;
}

/** Holds the shutdown hook; Nest runs lifecycle hooks on factory-provided values as on classes. */
const EVENT_STORE_LIFECYCLE = Symbol.for('restic-fleet.EventStoreLifecycle');

/**
 * The Nest shell around the event store: provides `EVENT_STORE` globally,
 * chosen by `RF_EVENTSTORE` (see event-store.config.ts), and closes it in
 * `onApplicationShutdown`, after every module's destroy hooks, so shutdown
 * work can still append. A bad `RF_EVENTSTORE` fails the boot with a message
 * naming the variable and the accepted forms.
 *
 * Written with factory providers and no decorators so that importing
 * `@rf/event-store` does not load Nest: the control plane's CLIs share this
 * library and never use the module (Nest is loaded only when `forRoot()` is booted).
 */
export class EventStoreModule {
  static forRoot(options: EventStoreModuleOptions = {}): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: EVENT_STORE,
          useFactory: async (): Promise<EventStore> => {
            const config = options.config ?? parseEventStoreConfig(options.env ?? process.env);
            const { Logger } = await import('@nestjs/common');
            const logger = new Logger('EventStore');
            logger.log(`using ${describeEventStoreConfig(config)}`);
            const store = createEventStore(config, {
              onResubscribe: ({ subscription, attempt, delayMs, error }) =>
                logger.warn(
                  `subscription to ${subscription} dropped (${error instanceof Error ? error.message : 'ended by the server'}); resubscribing in ${delayMs} ms, attempt ${attempt}`,
                ),
              // In the server's structured log, where operators look, rather than a bare stderr warning.
              onRecovered: (message) => logger.warn(message),
              // A server: WAL checkpoints off the event loop that acks agents.
              backgroundCheckpoints: true,
              onCheckpointFailed: (message) => logger.warn(message),
            });
            if (options.onOpen) {
              try {
                await options.onOpen(store);
              } catch (err) {
                await store.close().catch(() => undefined);
                throw err;
              }
            }
            return store;
          },
        },
        {
          provide: EVENT_STORE_LIFECYCLE,
          inject: [EVENT_STORE],
          useFactory: (store: EventStore): OnApplicationShutdown => ({
            onApplicationShutdown: () => store.close(),
          }),
        },
      ],
      exports: [EVENT_STORE],
    };
  }
}
