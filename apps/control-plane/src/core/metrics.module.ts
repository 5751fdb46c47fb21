import { Global, Module } from '@nestjs/common';
import { MetricsRegistry } from './metrics.registry';
import { ReadinessProbes } from './readiness.probes';

@Global()
@Module({ providers: [MetricsRegistry, ReadinessProbes], exports: [MetricsRegistry, ReadinessProbes] })
export class MetricsModule {}
