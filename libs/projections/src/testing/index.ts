// Test-only entry (`@rf/projections/testing`): a realistic fleet history,
// helpers to write it to a real log, and the runner child for crash specs.
import path from 'node:path';

export {
  at,
  fleetHistory,
  meta,
  planned,
  recordAll,
  recorded,
  type FleetOptions,
  type PlannedEvent,
} from './fleet-events.fixture';
export { appendAll, waitUntil } from './event-log.helpers';
export {
  alertAcknowledged,
  alertHistory,
  alertRaised,
  alertResolved,
  notification,
  webhookConfigured,
} from './alert-events.fixture';

/** The compiled child that runs every projection until killed: `node <path> <events.db> <readmodels.db>`. */
export const projectionRunnerChildPath = (): string => path.join(__dirname, 'runner.child.js');
