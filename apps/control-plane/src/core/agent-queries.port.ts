import type { Readable } from 'node:stream';
import type { DumpArchive, QueryKind } from '@rf/events';

/** One browse query for an agent (docs/browse.md); the args of its kind. */
export interface AgentQueryRequest {
  readonly kind: QueryKind;
  /** Absent: the host's default repository (config.update `repo_*`). */
  readonly repositoryId?: string;
  readonly snapshot?: string;
  readonly path?: string;
  readonly pattern?: string;
  readonly host?: string;
  readonly from?: string;
  readonly to?: string;
  readonly archive?: DumpArchive;
  /** The answer's cap: past it the upload is cut (restic stops) and the stream fails with too_large. */
  readonly maxBytes: number;
  /** The answer's exact length when it is known (a file's size): a different count fails the stream. */
  readonly expectedBytes?: number;
}

/**
 * Queries through an agent. `open` answers with restic's stdout as a byte
 * stream that the agent uploads on a connection of its own and that is read
 * only as fast as the stream's reader takes it (TCP backpressure), so a slow
 * reader slows restic instead of filling memory. Destroying the stream cancels
 * the query (restic gets SIGINT). The stream errors with an AppError
 * (`not_found`, `too_large`, `agent_failed`, `unavailable`) when the agent
 * reports a failure or goes away.
 */
export interface AgentQueries {
  /** Online, said hello, and announced the `query_raw_upload` capability. */
  canQuery(hostId: string): boolean;
  open(hostId: string, request: AgentQueryRequest): Readable;
}

export const AGENT_QUERIES = Symbol.for('restic-fleet.control-plane.AgentQueries');
