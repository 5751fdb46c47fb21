import { Injectable } from '@nestjs/common';
import { parseSince } from '@rf/projections';
import { AppError } from '../core/app-error';
import type { AuditQueryDto } from '../dtos/audit.dtos';
import { mapAuditLine } from '../dtos/response-mappers';
import { ReadModelsReader } from '../repositories/read-models.reader';

/** The audit trail: who did what, read from the event log itself. */
@Injectable()
export class AuditTrailService {
  constructor(private readonly reader: ReadModelsReader) {}

  async lines(q: AuditQueryDto) {
    let since: Date | undefined;
    try {
      since = q.since ? parseSince(q.since, new Date()) : undefined;
    } catch (err) {
      throw new AppError('invalid_input', err instanceof Error ? err.message : 'bad since', {
        field: 'since',
      });
    }
    const limit = q.limit === undefined ? 1000 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new AppError('invalid_input', 'limit must be a whole number from 1 to 10000', { field: 'limit' });
    }
    const models = await this.reader.fresh();
    const lines = await models.audit.lines({
      ...(q.stream ? { stream: q.stream } : {}),
      ...(since ? { since } : {}),
      ...(q.actor ? { actor: q.actor } : {}),
      limit,
    });
    return { lines: lines.map(mapAuditLine) };
  }
}
