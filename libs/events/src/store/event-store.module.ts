import { Inject, Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
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
}

/**
 * The Nest shell around the event store: provides `EVENT_STORE` globally,
 * chosen by `RF_EVENTSTORE` (see event-store.config.ts), and closes it in
 * `onApplicationShutdown`, after every module's destroy hooks, so shutdown
 * work can still append. A bad `RF_EVENTSTORE` fails the boot with a message
 * naming the variable and the accepted forms.
 */
@Module({})
export class EventStoreModule implements OnApplicationShutdown {
  private static readonly logger = new Logger('EventStore');

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  static forRoot(options: EventStoreModuleOptions = {}): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: EVENT_STORE,
          useFactory: (): EventStore => {
            const config = options.config ?? parseEventStoreConfig(options.env ?? process.env);
            const logger = EventStoreModule.logger;
            logger.log(`using ${describeEventStoreConfig(config)}`);
            return createEventStore(config, {
              onResubscribe: ({ subscription, attempt, delayMs, error }) =>
                logger.warn(
                  `subscription to ${subscription} dropped (${error instanceof Error ? error.message : 'ended by the server'}); resubscribing in ${delayMs} ms, attempt ${attempt}`,
                ),
            });
          },
        },
      ],
      exports: [EVENT_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}
