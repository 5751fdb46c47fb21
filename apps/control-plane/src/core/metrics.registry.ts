import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type Labels = Readonly<Record<string, string>>;
type GaugeRows = ReadonlyArray<{ labels: Labels; value: number }>;

export interface MetricsRegistryOptions {
  /** Stamped on every series as the `node` label (docs/operations.md, "Metrics"). */
  readonly nodeId?: string;
  /** Node.js process metrics: CPU, memory, heap, event-loop lag, GC. Off for registries made in tests of one class. */
  readonly processMetrics?: boolean;
}

/** Latency buckets in seconds, from 1 ms to 10 s. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The control plane's Prometheus registry (prom-client). Metric names are in
 * base units (seconds, bytes) as docs/operations.md lists them. Services
 * register what they own in their constructor: a counter or histogram hands
 * back a function for the hot path, a gauge is read at scrape time.
 */
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor(options: MetricsRegistryOptions = {}) {
    if (options.nodeId !== undefined) this.registry.setDefaultLabels({ node: options.nodeId });
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named `_total` break the Prometheus naming rules (promtool flags them); the same
      // figures stay exposed by type as nodejs_active_handles, _requests and _resources.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
  }

  counter(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
  ): (by?: number, labels?: Labels) => void {
    const c =
      this.existing(name, Counter) ?? new Counter({ name, help, labelNames, registers: [this.registry] });
    return (by = 1, labels = {}) => c.inc(labels, by);
  }

  histogram(
    name: string,
    help: string,
    buckets: readonly number[] = LATENCY_BUCKETS_S,
    labelNames: readonly string[] = [],
  ): (value: number, labels?: Labels) => void {
    const h =
      this.existing(name, Histogram) ??
      new Histogram({ name, help, labelNames, buckets: [...buckets], registers: [this.registry] });
    return (value, labels = {}) => h.observe(labels, value);
  }

  /** A gauge read from live state at scrape time; rows not returned by the last read disappear. */
  gauge(
    name: string,
    help: string,
    collect: () => number | GaugeRows,
    labelNames: readonly string[] = [],
  ): void {
    // The newest reader wins: a service built again (a restart in tests) reads its own state.
    this.registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        let read: number | GaugeRows;
        try {
          read = collect();
        } catch {
          return; // a failing source reads as reset (0, or no labelled rows) rather than failing the whole scrape
        }
        if (typeof read === 'number') this.set(Number.isFinite(read) ? read : 0);
        else for (const row of read) this.set(row.labels, Number.isFinite(row.value) ? row.value : 0);
      },
    });
  }

  /**
   * A counter or histogram registered before under this name: services built more than
   * once in one process keep counting into the same series instead of failing.
   */
  private existing<T>(name: string, kind: abstract new (...args: never[]) => T): T | undefined {
    const m = this.registry.getSingleMetric(name);
    if (m === undefined) return undefined;
    if (!(m instanceof kind)) throw new Error(`metric ${name} is already registered with another type`);
    return m;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
