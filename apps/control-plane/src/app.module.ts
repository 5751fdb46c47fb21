import { DynamicModule, Global, Module } from '@nestjs/common';
import { EventStoreModule } from '@rf/event-store';
import { ApiModule } from './controllers/api.module';
import { AGENT_DISPATCH } from './core/agent-dispatch.port';
import { AGENT_QUERIES } from './core/agent-queries.port';
import { AppConfig } from './core/app-config';
import { ConfigModule } from './core/config.module';
import { LoggingModule } from './core/logging.module';
import { MetricsModule } from './core/metrics.module';
import { AgentQueryStreams } from './gateways/agent-query.streams';
import { AgentSessions } from './gateways/agent-sessions';
import { GatewaysModule } from './gateways/gateways.module';
import { AuthModule } from './middleware/auth.module';
import { RepositoriesModule } from './repositories/repositories.module';
import { AlertsModule } from './services/alerts.module';
import { checkReadModelsLog } from './services/read-models-log.check';
import { UiModule } from './ui/ui.module';

/**
 * Binds core/'s ports to their implementations. Global, so services in every
 * module reach the agents' sockets through `AGENT_DISPATCH` without importing
 * gateways/; the agent gateway registers each connection in `AgentSessions`.
 */
@Global()
@Module({
  providers: [
    AgentSessions,
    { provide: AGENT_DISPATCH, useExisting: AgentSessions },
    AgentQueryStreams,
    { provide: AGENT_QUERIES, useExisting: AgentQueryStreams },
  ],
  exports: [AgentSessions, AGENT_DISPATCH, AgentQueryStreams, AGENT_QUERIES],
})
class PortsModule {}

/**
 * The control plane's root module and composition root (docs/architecture.md,
 * "Control plane layout"); `config` is validated before Nest boots.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        EventStoreModule.forRoot({
          config: config.eventStore,
          onOpen: (store) => checkReadModelsLog(store, config),
        }),
        MetricsModule,
        RepositoriesModule,
        AuthModule,
        PortsModule,
        GatewaysModule,
        ApiModule,
        UiModule,
        AlertsModule,
      ],
    };
  }
}
