import { DeliveryPlanner, FleetWatch } from '@rf/alerts';
import { encodePosition, snapshotField, type StateSnapshotCodec } from '@rf/projections';
import { AlertsState } from './alerts.state';

/**
 * `AlertsState` in `readmodels.db` (docs/architecture.md, "State that starts
 * fast"). Bump the version with any change to the rules' fold, the delivery
 * planner or this shape: older snapshots are then discarded and the state is
 * replayed from the log (which re-decides and re-sends nothing: both folds
 * read their own alert and delivery records back). Channel secrets stay
 * sealed, as in the log.
 */
// 2: repositories' maintenance schedules (maintenance_overdue); backup history as flat number lists.
export const ALERTS_SNAPSHOT_VERSION = 2;

const { record, list, pair, str, num } = snapshotField;

export const alertsSnapshotCodec: StateSnapshotCodec<AlertsState> = {
  name: 'alerts',
  version: ALERTS_SNAPSHOT_VERSION,
  encode: (s) => ({
    position: encodePosition(s.position),
    watch: s.watch.toSnapshot(),
    planner: s.planner.toSnapshot(),
    revisions: [...s.revisions],
  }),
  decode: (body) => {
    const o = record(body, 'snapshot');
    const state = new AlertsState(
      FleetWatch.fromSnapshot(o['watch']),
      DeliveryPlanner.fromSnapshot(o['planner']),
    );
    state.position = snapshotField.position(o['position']);
    for (const entry of list(o['revisions'], 'revisions')) {
      const [alertId, revision] = pair(entry, 'revisions');
      state.revisions.set(str(alertId, 'revisions alert'), num(revision, 'revisions revision'));
    }
    return state;
  },
};
