import type { RebuildProgress } from '@rf/projections';

const WIDTH = 30;

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');

const fmtEta = (seconds: number | null): string => {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
};

/** One line of the rebuild progress bar: `[#####-----]  45%  120,000 events  52,300 ev/s  ETA 3s`. */
export function renderRebuildProgress(p: RebuildProgress): string {
  const fraction = p.head > 0n ? Math.min(1, Number(p.position) / Number(p.head)) : 1;
  const done = p.phase === 'done' ? WIDTH : Math.floor(fraction * WIDTH);
  const bar = `${'#'.repeat(done)}${'-'.repeat(WIDTH - done)}`;
  const pct = p.phase === 'done' ? 100 : Math.floor(fraction * 100);
  const phase = p.phase === 'swapping' ? '  swapping tables in' : '';
  return `[${bar}] ${String(pct).padStart(3)}%  ${fmtInt(p.applied)} events  ${fmtInt(p.eventsPerSecond)} ev/s  ETA ${fmtEta(p.phase === 'done' ? 0 : p.etaSeconds)}${phase}`;
}
