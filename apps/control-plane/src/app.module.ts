import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { LoggingModule } from './logging/logging.module';
import { HealthController } from './api/health.controller';

/** The control plane's root module; `config` is validated before Nest boots. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), LoggingModule],
      controllers: [HealthController],
    };
  }
}
