import { Injectable } from '@nestjs/common';

export interface ReadinessResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export type ReadinessProbe = (lagBoundMs: number) => Promise<ReadinessResult> | ReadinessResult;

/** Other parts (the projections) register what `/readyz` must also check. */
@Injectable()
export class ReadinessProbes {
  private readonly probes: ReadinessProbe[] = [];

  register(probe: ReadinessProbe): void {
    this.probes.push(probe);
  }

  async run(lagBoundMs: number): Promise<ReadinessResult[]> {
    return Promise.all(
      this.probes.map(async (p) => {
        try {
          return await p(lagBoundMs);
        } catch (err) {
          return { name: 'probe', ok: false, detail: err instanceof Error ? err.message : String(err) };
        }
      }),
    );
  }
}
