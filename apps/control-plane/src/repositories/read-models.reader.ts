import { Inject, Injectable } from '@nestjs/common';
import { WritePositions } from '../domain/write-positions';
import { READ_MODELS, type ReadModels } from './read-models.port';

const READ_YOUR_WRITES_TIMEOUT_MS = 3000;

/** The read models, after they have applied this process's latest write (bounded wait). */
@Injectable()
export class ReadModelsReader {
  constructor(
    @Inject(READ_MODELS) private readonly models: ReadModels,
    private readonly positions: WritePositions,
  ) {}

  async fresh(): Promise<ReadModels> {
    const latest = this.positions.latest;
    if (latest) {
      // A slow projection must not fail the read: answer with what is there.
      await this.models.waitForPosition(latest, READ_YOUR_WRITES_TIMEOUT_MS).catch(() => undefined);
    }
    return this.models;
  }
}
