import { Injectable } from '@nestjs/common';
import { AppConfig } from '../core/app-config';
import { AppError } from '../core/app-error';
import type { JobLogsQueryDto, ListJobsQueryDto } from '../dtos/job.dtos';
import { mapJobResponse, mapLogLine, type JobResponse } from '../dtos/response-mappers';
import type { ReadModels } from '../repositories/read-models.port';
import { ReadModelsReader } from '../repositories/read-models.reader';
import { JobDispatchService } from './job-dispatch.service';

function intParam(raw: string | undefined, field: string, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) throw new AppError('invalid_input', `${field} must be a whole number`, { field });
  const v = Number(raw);
  if (v < min || v > max)
    throw new AppError('invalid_input', `${field} must be between ${min} and ${max}`, { field });
  return v;
}

/** Jobs and their persisted log lines, from the read models; a queued job's wait reason from dispatch. */
@Injectable()
export class JobQueriesService {
  constructor(
    private readonly reader: ReadModelsReader,
    private readonly config: AppConfig,
    private readonly dispatcher: JobDispatchService,
  ) {}

  async list(q: ListJobsQueryDto): Promise<{ jobs: JobResponse[] }> {
    const models = await this.reader.fresh();
    const limit = intParam(q.limit, 'limit', 1, 1000);
    const jobs = models.jobs.list({
      ...(q.host ? { hostId: q.host } : {}),
      ...(q.repository ? { repositoryId: q.repository } : {}),
      ...(q.status ? { status: q.status } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
    return { jobs: jobs.map((j) => mapJobResponse(j, this.dispatcher.waitReason(j.id))) };
  }

  async get(id: string): Promise<JobResponse> {
    const models = await this.reader.fresh();
    return mapJobResponse(requireJobView(models, id), this.dispatcher.waitReason(id));
  }

  /** Persisted log lines after `after_seq`; says plainly when retention removed the log. */
  async logs(id: string, q: JobLogsQueryDto) {
    const afterSeq = intParam(q.after_seq, 'after_seq', -1, Number.MAX_SAFE_INTEGER) ?? -1;
    const limit = intParam(q.limit, 'limit', 1, 10_000) ?? 1000;
    const models = await this.reader.fresh();
    const job = requireJobView(models, id);
    const lines = models.jobLog.lines(id, { afterSeq, limit });
    const retentionMs = this.config.logRetentionDays * 86_400_000;
    const endedAt = Date.parse(job.finishedAt ?? job.requestedAt ?? '');
    const expired =
      lines.length === 0 &&
      afterSeq < 0 &&
      (job.logLineCount > 0 || (Number.isFinite(endedAt) && Date.now() - endedAt > retentionMs));
    return {
      job_id: id,
      lines: lines.map(mapLogLine),
      next_after_seq: lines.length > 0 ? lines[lines.length - 1]!.seq : afterSeq,
      log_expired: expired,
      ...(expired
        ? {
            message: `the log of this job was removed by the ${this.config.logRetentionDays}-day log retention; its outcome is kept`,
          }
        : {}),
    };
  }
}

function requireJobView(models: ReadModels, id: string) {
  const job = models.jobs.get(id);
  if (!job) throw new AppError('not_found', `job ${id} does not exist`, { field: 'id' });
  return job;
}
