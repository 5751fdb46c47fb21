import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE, type AppendResult, type EventStore, type ExpectedRevision } from '@rf/event-store';
import { toEventData, type FleetEvent } from '@rf/events';
import type { CommandContext } from '../core/command-context';
import { FLEET_STATE_PREFIXES } from '../domain/fleet-state';
import { FleetStateService } from './fleet-state.service';
import { WritePositions } from '../domain/write-positions';

/**
 * The command side's only way to append: validates each event against the
 * catalog, fills in the audit metadata and, with `waitForState`, returns only
 * once FleetState has applied it (read-your-writes for the next decision).
 */
@Injectable()
export class FleetEventWriter {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly fleet: FleetStateService,
    private readonly positions: WritePositions,
  ) {}

  async append(
    stream: string,
    events: readonly FleetEvent[],
    ctx: CommandContext,
    options: { expectedRevision?: ExpectedRevision; ids?: readonly string[]; waitForState?: boolean } = {},
  ): Promise<AppendResult> {
    const receivedAt = new Date().toISOString();
    const data = events.map((event, i) =>
      toEventData(
        event,
        {
          actor: ctx.actor,
          correlation_id: ctx.correlationId,
          causation_id: ctx.causationId ?? ctx.correlationId,
          received_at: receivedAt,
        },
        options.ids?.[i],
      ),
    );
    const result = await this.store.append(stream, data, {
      expectedRevision: options.expectedRevision ?? 'any',
    });
    this.positions.note(result.position);
    const tracked = FLEET_STATE_PREFIXES.some((p) => stream.startsWith(p));
    if (tracked && options.waitForState !== false) await this.fleet.waitFor(result.position);
    return result;
  }
}
