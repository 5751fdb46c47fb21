import { Controller, Get, Query } from '@nestjs/common';
import { ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { parseSince } from '@rf/projections';
import { Roles } from '../middleware/auth.decorators';
import { AppError } from '../core/app-error';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { mapAuditLine } from '../dtos/response-mappers';

export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'A stream (job-…) or a category (job, host)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  readonly stream?: string;
  @ApiPropertyOptional({ description: 'ISO time or an age such as 24h, 7d' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  readonly since?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) readonly actor?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(8) readonly limit?: string;
}

/** The audit trail: who did what, from the event log itself. */
@ApiTags('audit')
@Controller('api/audit')
export class AuditController {
  constructor(private readonly reader: ReadModelsReader) {}

  @Get()
  @Roles('operator')
  async list(@Query() q: AuditQueryDto) {
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
