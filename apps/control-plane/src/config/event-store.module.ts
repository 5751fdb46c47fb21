import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { createSqliteEventStore, EVENT_STORE, type EventStore } from '@rf/events';
import { AppConfig } from './app-config';

/**
 * Provides `EVENT_STORE` from `AppConfig.eventStore`. The store closes in
 * `onApplicationShutdown`, after every module's destroy hooks have run, so
 * shutdown work (AgentDisconnected for live agents) can still append.
 */
@Global()
@Module({})
export class EventStoreProviderModule implements OnApplicationShutdown {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  static forRoot(): DynamicModule {
    return {
      module: EventStoreProviderModule,
      providers: [
        {
          provide: EVENT_STORE,
          inject: [AppConfig],
          useFactory: (config: AppConfig) => openEventStore(config),
        },
      ],
      exports: [EVENT_STORE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

export function openEventStore(config: AppConfig): EventStore {
  if (config.eventStore.kind === 'sqlite') return createSqliteEventStore({ path: config.eventStore.path });
  throw new Error(
    'RF_EVENTSTORE: the EventStoreDB adapter is not available in this build; unset RF_EVENTSTORE to use the embedded store',
  );
}
