import { Injectable } from '@nestjs/common';

type Labels = Readonly<Record<string, string>>;

interface Series {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, { labels: Labels; value: number }>;
  /** Gauges read at scrape time from live state. */
  readonly collect?: () => ReadonlyArray<{ labels: Labels; value: number }>;
}

/**
 * A deliberately small Prometheus text registry: counters are bumped on the
 * hot path (a Map lookup), gauges are collected at scrape time.
 */
@Injectable()
export class MetricsRegistry {
  private readonly series = new Map<string, Series>();

  counter(name: string, help: string): (by?: number, labels?: Labels) => void {
    const s = this.ensure(name, help, 'counter');
    return (by = 1, labels = {}) => {
      const key = labelKey(labels);
      const entry = s.values.get(key);
      if (entry) entry.value += by;
      else s.values.set(key, { labels, value: by });
    };
  }

  gauge(
    name: string,
    help: string,
    collect: () => number | ReadonlyArray<{ labels: Labels; value: number }>,
  ): void {
    this.series.set(name, {
      help,
      type: 'gauge',
      values: new Map(),
      collect: () => {
        const v = collect();
        return typeof v === 'number' ? [{ labels: {}, value: v }] : v;
      },
    });
  }

  render(): string {
    const out: string[] = [];
    for (const [name, s] of this.series) {
      out.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      const rows = s.collect ? safeCollect(s.collect) : [...s.values.values()];
      if (rows.length === 0 && s.type === 'counter') out.push(`${name} 0`);
      for (const row of rows)
        out.push(`${name}${renderLabels(row.labels)} ${Number.isFinite(row.value) ? row.value : 0}`);
    }
    return out.join('\n') + '\n';
  }

  private ensure(name: string, help: string, type: 'counter' | 'gauge'): Series {
    let s = this.series.get(name);
    if (!s) {
      s = { help, type, values: new Map() };
      this.series.set(name, s);
    }
    return s;
  }
}

function safeCollect(fn: () => ReadonlyArray<{ labels: Labels; value: number }>) {
  try {
    return fn();
  } catch {
    return [];
  }
}

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return keys
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function renderLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
  return `{${keys.map((k) => `${k}="${esc(labels[k]!)}"`).join(',')}}`;
}
