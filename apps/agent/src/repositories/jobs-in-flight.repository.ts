import * as path from 'node:path';
import { JsonStateFile, StateFileCorruptError } from './state-file.repository';

function parse(o: Record<string, unknown>): { job_ids: string[] } {
  const ids = o.job_ids;
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw new Error('expected job_ids');
  return { job_ids: ids as string[] };
}

/**
 * `jobs-in-flight.json`: the jobs this agent accepted (queued or running)
 * whose `job.finished` has not gone out yet. Whatever is left here at start-up was cut off by a
 * crash or a kill of the agent; nobody else can report those jobs' outcome.
 */
export class JobsInFlightRepository {
  private readonly file: JsonStateFile<{ job_ids: string[] }>;
  private readonly ids = new Set<string>();

  constructor(stateDir: string) {
    this.file = new JsonStateFile(path.join(stateDir, 'jobs-in-flight.json'), 1, parse);
  }

  /** The jobs a previous run left unfinished (the set is emptied; the caller reports them). */
  takeLeftovers(): { jobIds: string[]; corrupt?: StateFileCorruptError } {
    let jobIds: string[] = [];
    let corrupt: StateFileCorruptError | undefined;
    try {
      jobIds = this.file.read()?.job_ids ?? [];
    } catch (err) {
      if (!(err instanceof StateFileCorruptError)) throw err;
      corrupt = err;
    }
    this.ids.clear();
    this.file.write({ job_ids: [] });
    return corrupt ? { jobIds, corrupt } : { jobIds };
  }

  started(jobId: string): void {
    if (this.ids.has(jobId)) return;
    this.ids.add(jobId);
    this.file.write({ job_ids: [...this.ids] });
  }

  finished(jobId: string): void {
    if (!this.ids.delete(jobId)) return;
    this.file.write({ job_ids: [...this.ids] });
  }
}
