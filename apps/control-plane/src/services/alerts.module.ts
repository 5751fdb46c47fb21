import { Module } from '@nestjs/common';
import { AlertsService } from './alerts.service';
import { FleetModule } from './fleet.module';

/**
 * Alerts and notifications in the running control plane (docs/alerts.md):
 * the rules process and the notifier, and the service the alert write routes
 * call (acknowledge, rule settings, channels, send test).
 */
@Module({ imports: [FleetModule], providers: [AlertsService], exports: [AlertsService] })
export class AlertsModule {}
