import { DynamicModule, Module } from '@nestjs/common';
import { EventStoreModule } from '@rf/event-store';
import { ApiModule } from './api/api.module';
import { MetricsModule } from './api/metrics.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { CryptoModule } from './crypto/crypto.module';
import { GatewayModule } from './gateway/gateway.module';
import { LiveModule } from './live/live.module';
import { SessionsModule } from './gateway/sessions.module';
import { LoggingModule } from './logging/logging.module';
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
