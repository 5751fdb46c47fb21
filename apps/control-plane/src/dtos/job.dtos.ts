import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { JOB_KINDS, JOB_STATUSES, type JobKind } from '@rf/events';
import { invalidInput } from '../core/invalid-input';
import { ID_MESSAGE, ID_PATTERN } from './repository.dtos';

/**
 * A job's kind plus its args at the top level (docs/architecture.md, "External
 * contract"). Arg fields are only allowed through here; the catalog's
 * `validateJobArgs` checks them against the kind and names a bad one.
 */
export class JobBodyDto {
  @ApiProperty({ enum: JOB_KINDS }) @IsIn(JOB_KINDS) readonly kind!: JobKind;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly paths?: unknown;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly excludes?: unknown;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly tags?: unknown;
  @ApiPropertyOptional() @Allow() readonly one_file_system?: unknown;
  @ApiPropertyOptional() @Allow() readonly exclude_caches?: unknown;
  @ApiPropertyOptional() @Allow() readonly limit_upload_kib?: unknown;
  @ApiPropertyOptional() @Allow() readonly limit_download_kib?: unknown;
  @ApiPropertyOptional({ type: Object }) @Allow() readonly policy?: unknown;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly group_by?: unknown;
  @ApiPropertyOptional() @Allow() readonly prune?: unknown;
  @ApiPropertyOptional() @Allow() readonly max_unused?: unknown;
  @ApiPropertyOptional() @Allow() readonly read_data_subset?: unknown;
  @ApiPropertyOptional() @Allow() readonly snapshot_id?: unknown;
  @ApiPropertyOptional() @Allow() readonly target?: unknown;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly include?: unknown;
  @ApiPropertyOptional({ type: [String] }) @Allow() readonly exclude?: unknown;
  @ApiPropertyOptional({ enum: ['always', 'if-changed', 'if-newer', 'never'] })
  @Allow()
  readonly overwrite?: unknown;
  @ApiPropertyOptional() @Allow() readonly dry_run?: unknown;
  @ApiPropertyOptional() @Allow() readonly mode?: unknown;
  @ApiPropertyOptional({ description: 'copy: the destination repository' })
  @Allow()
  readonly to_repository_id?: unknown;
  @ApiPropertyOptional({ type: [String], description: 'copy: snapshot ids or prefixes (all when absent)' })
  @Allow()
  readonly snapshots?: unknown;
}

/** `POST /api/hosts/{id}/jobs`: a job on one of the host's repositories. */
export class CreateJobDto extends JobBodyDto {
  @ApiPropertyOptional({ description: 'The repository to work on; may be left out when the host has one.' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: `repository_id ${ID_MESSAGE}` })
  readonly repository_id?: string;
}

/** `POST /api/repositories/{id}/jobs`: a job on the repository, on a host the control plane picks unless named. */
export class CreateRepositoryJobDto extends JobBodyDto {
  @ApiPropertyOptional({ description: 'The attached host to run it on; an online attached one when absent.' })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: `host_id ${ID_MESSAGE}` })
  readonly host_id?: string;
  @ApiPropertyOptional({
    description: 'restore: the host to restore onto (the name docs/browse.md uses for host_id)',
  })
  @IsOptional()
  @IsString()
  @Matches(ID_PATTERN, { message: `target_host_id ${ID_MESSAGE}` })
  readonly target_host_id?: string;
  @ApiPropertyOptional({
    description: 'restore: the snapshot (the name docs/browse.md uses for snapshot_id)',
  })
  @Allow()
  readonly snapshot?: unknown;
}

/** Fields of a job body that say where the job runs, not how. */
const PLACEMENT_FIELDS: ReadonlySet<string> = new Set(['kind', 'repository_id', 'host_id', 'target_host_id']);

/** Splits the DTO into kind and raw args (every field but kind and placement, undefined ones dropped). */
export function jobArgsOf(dto: JobBodyDto): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dto)) if (!PLACEMENT_FIELDS.has(k) && v !== undefined) args[k] = v;
  // The restore route's contract names the snapshot `snapshot` (docs/browse.md); the job args call it snapshot_id.
  if ('snapshot' in args && !('snapshot_id' in args)) {
    args['snapshot_id'] = args['snapshot'];
    delete args['snapshot'];
  }
  return args;
}

/** Where a repository job runs: `host_id`, or for a restore its contract name `target_host_id` (both must agree). */
export function placementOf(dto: CreateRepositoryJobDto): string | undefined {
  if (dto.host_id !== undefined && dto.target_host_id !== undefined && dto.host_id !== dto.target_host_id)
    throw invalidInput([
      { field: 'target_host_id', message: 'target_host_id and host_id name different hosts' },
    ]);
  return dto.target_host_id ?? dto.host_id;
}

export class JobCreatedDto {
  @ApiProperty() readonly job_id!: string;
}

export class JobCancelledDto {
  @ApiProperty() readonly job_id!: string;
  @ApiProperty({ enum: JOB_STATUSES }) readonly status!: string;
}

export class ListJobsQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(128) readonly host?: string;
  @ApiPropertyOptional({ description: 'Jobs on this repository (as source)' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  readonly repository?: string;
  @ApiPropertyOptional({ enum: JOB_STATUSES }) @IsOptional() @IsIn(JOB_STATUSES) readonly status?: string;
  @ApiPropertyOptional({ enum: JOB_KINDS }) @IsOptional() @IsIn(JOB_KINDS) readonly kind?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(16) readonly limit?: string;
}

export class JobLogsQueryDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(20) readonly after_seq?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(16) readonly limit?: string;
}
