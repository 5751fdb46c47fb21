import { actorLabel } from '../audit/describe-event';
import { defineProjection, streamsExcept, type AppendTable } from '../engine/projection.definition';
import { fields, str } from './event-fields';

export type AuditTrailRow = {
  readonly commit_pos: number;
  readonly prepare_pos: number;
  /** The actor's id, lower case (a host id for agents). */
  readonly actor_id: string | null;
  /** The actor as the trail labels it without host names (`ops`, `schedule nightly`, `agent 1f2e…`), lower case. */
  readonly actor_label: string;
};

type AuditTrailTables = {
  readonly audit_trail: AppendTable<AuditTrailRow, 'commit_pos' | 'prepare_pos'>;
};

/**
 * Who did what, by position: an index over the log for the audit trail's actor
 * filter, so `actor=…` reads that actor's events instead of scanning the log
 * backwards (which grows with the history). The trail itself is still rendered
 * from the events (AuditQuery), so this keeps no copy of them. Every event
 * type is treated alike: only its metadata's actor and its position count.
 */
export const auditTrailProjection = defineProjection<AuditTrailTables>({
  name: 'audit-trail',
  version: 1,
  // Telemetry is left out of the trail unless a stream filter asks for it (AuditQuery), so it is not indexed.
  streams: streamsExcept('joblog'),
  tables: {
    audit_trail: {
      kind: 'append',
      key: ['commit_pos', 'prepare_pos'],
      columns: {
        commit_pos: 'INTEGER NOT NULL',
        prepare_pos: 'INTEGER NOT NULL',
        actor_id: 'TEXT',
        actor_label: 'TEXT NOT NULL',
      },
      constraints: 'PRIMARY KEY (commit_pos, prepare_pos)',
      options: 'WITHOUT ROWID',
    },
  },
  indexes: [
    { name: 'audit_trail_by_actor_id', table: 'audit_trail', columns: 'actor_id, commit_pos, prepare_pos' },
    {
      name: 'audit_trail_by_actor_label',
      table: 'audit_trail',
      columns: 'actor_label, commit_pos, prepare_pos',
    },
  ],
  evolve(view, event) {
    const actor = fields(fields(event.metadata)['actor']);
    const kind = str(actor, 'kind');
    const id = str(actor, 'id');
    view.append('audit_trail', {
      commit_pos: Number(event.position.commit),
      prepare_pos: Number(event.position.prepare),
      actor_id: id?.toLowerCase() ?? null,
      actor_label: actorLabel(kind, id, str(actor, 'name'), {}).toLowerCase(),
    });
  },
});
