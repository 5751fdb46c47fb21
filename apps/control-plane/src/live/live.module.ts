import { Module } from '@nestjs/common';
import { JobPageModule } from '../ui/job-page/job-page.module';
import { JobFeeds } from '../gateways/job-feeds';
import { JobTailGateway } from '../gateways/job-tail.gateway';
import { LiveSettings } from '../core/live.settings';

/**
 * The live job tail: `GET /api/jobs/{id}/stream` on the HTTP port, and the
 * job page (`/jobs/{id}`) that watches it.
 * Needs the global AuthModule, SessionsModule (upgrade router), MetricsModule and EVENT_STORE.
 */
@Module({
  imports: [JobPageModule],
  providers: [
    { provide: LiveSettings, useFactory: () => LiveSettings.fromEnv(process.env) },
    JobFeeds,
    JobTailGateway,
  ],
  exports: [JobFeeds],
})
export class LiveModule {}
