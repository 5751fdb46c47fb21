import { DeliveryPlanner, FleetWatch, type WatchedEvent } from '@rf/alerts';
import { ALERT_RULES_STREAM, fromRecorded, type Position, type RecordedEvent } from '@rf/events';

/**
 * The streams the alert rules and the notifier read: everything about hosts,
 * jobs, schedules, repositories, and the alerts' own streams. Not users,
 * tokens, enrolment tokens, job telemetry or snapshot listings.
 */
export const ALERTS_STREAM_PREFIXES: readonly string[] = [
  'host-',
  'job-',
  'schedules-',
  'repository-',
  'alert-',
  ALERT_RULES_STREAM,
  'channel-',
  'delivery-',
];

/** Where the delivery half of the fold goes: the planner itself, or the notifier wrapped around it. */
export interface DeliveryFold {
  apply(event: WatchedEvent): void;
}

/**
 * What the alerts process keeps in memory (docs/alerts.md, "How the rules
 * run"): the rules' fold, the delivery planner, and each open alert's stream
 * revision (so a resolution or an acknowledgement is appended at the exact
 * revision it was decided on). Folded from the log and snapshotted with it.
 */
export class AlertsState {
  position: Position | null = null;
  /** Open alerts' last revision in their `alert-{id}` stream. */
  readonly revisions = new Map<string, number>();
  /** Replaced by the notifier once it runs, so its bookkeeping sees every record. */
  deliveries: DeliveryFold;

  constructor(
    readonly watch: FleetWatch = new FleetWatch(),
    readonly planner: DeliveryPlanner = new DeliveryPlanner(),
  ) {
    this.deliveries = planner;
  }

  apply(recorded: RecordedEvent): void {
    const event = fromRecorded(recorded) as WatchedEvent;
    this.watch.apply(event);
    this.deliveries.apply(event);
    if (event.type === 'AlertResolved') this.revisions.delete(event.data.alert_id);
    else if (event.type === 'AlertRaised' || event.type === 'AlertAcknowledged')
      this.revisions.set(event.data.alert_id, recorded.revision);
    this.position = recorded.position;
  }
}
