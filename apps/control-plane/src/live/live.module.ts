import { Module } from '@nestjs/common';
import { JobFeeds } from './job-feeds';
import { JobTailGateway } from './job-tail.gateway';
import { LiveSettings } from './live.settings';

/**
 * The live job tail: `GET /api/jobs/{id}/stream` on the HTTP port.
 * Needs the global AuthModule, SessionsModule (upgrade router), MetricsModule and EVENT_STORE.
 */
@Module({
  providers: [
    { provide: LiveSettings, useFactory: () => LiveSettings.fromEnv(process.env) },
    JobFeeds,
    JobTailGateway,
  ],
  exports: [JobFeeds],
})
export class LiveModule {}
