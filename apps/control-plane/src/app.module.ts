import { DynamicModule, Module } from '@nestjs/common';
import { EventStoreModule } from '@rf/event-store';
import { ApiModule } from './controllers/api.module';
import { MetricsModule } from './core/metrics.module';
import { AuthModule } from './middleware/auth.module';
import { AppConfig } from './core/app-config';
import { ConfigModule } from './core/config.module';
import { CryptoModule } from './repositories/repositories.module';
import { GatewayModule } from './gateways/gateways.module';
import { LiveModule } from './live/live.module';
import { SessionsModule } from './gateway/sessions.module';
import { LoggingModule } from './core/logging.module';
import { UiModule } from './ui/ui.module';

/** The control plane's root module; `config` is validated before Nest boots. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        EventStoreModule.forRoot({ config: config.eventStore }),
        MetricsModule,
        CryptoModule,
        AuthModule,
        SessionsModule,
        GatewayModule,
        ApiModule,
        UiModule,
        LiveModule,
      ],
    };
  }
}
