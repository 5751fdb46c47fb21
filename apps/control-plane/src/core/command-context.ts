import { randomUUID } from 'node:crypto';
import type { EventActor } from '@rf/events';

/** Who and why, for an event's metadata (docs/architecture.md, "Event catalog"). */
export interface CommandContext {
  readonly actor: EventActor;
  readonly correlationId: string;
  readonly causationId?: string;
}

export const SYSTEM_ACTOR: EventActor = { kind: 'system', id: 'control-plane' };

export function systemContext(correlationId: string = randomUUID()): CommandContext {
  return { actor: SYSTEM_ACTOR, correlationId };
}
