import { Global, Module } from '@nestjs/common';
import { AppConfig } from './app-config';
import { MetricsRegistry } from './metrics.registry';
import { ReadinessProbes } from './readiness.probes';

@Global()
@Module({
  providers: [
    {
      provide: MetricsRegistry,
      useFactory: (config: AppConfig) => new MetricsRegistry({ nodeId: config.nodeId, processMetrics: true }),
      inject: [AppConfig],
    },
    ReadinessProbes,
  ],
  exports: [MetricsRegistry, ReadinessProbes],
})
export class MetricsModule {}
