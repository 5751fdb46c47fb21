import type { ProjectionDefinition } from '../engine/projection.definition';
import { alertsProjection } from './alerts.projection';
import { auditTrailProjection } from './audit-trail.projection';
import { hostsProjection } from './hosts.projection';
import { jobsProjection } from './jobs.projection';
import { notificationsProjection } from './notifications.projection';
import { repoStatsProjection } from './repo-stats.projection';
import { repositoriesProjection } from './repositories.projection';
import { repositoryActivityProjection } from './repository-activity.projection';
import { schedulesProjection } from './schedules.projection';
import { snapshotsProjection } from './snapshots.projection';

/** Every read model of the control plane, in a fixed order. */
export const ALL_PROJECTIONS: readonly ProjectionDefinition[] = [
  hostsProjection,
  jobsProjection,
  snapshotsProjection,
  schedulesProjection,
  repoStatsProjection,
  repositoriesProjection,
  alertsProjection,
  notificationsProjection,
  auditTrailProjection,
  repositoryActivityProjection,
];
