/**
 * A one-line progress display for long work: step / total, rate, ETA and any metrics,
 * redrawn in place on a terminal and printed every few seconds otherwise (CI logs).
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: { write(s: string): unknown; isTTY?: boolean };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private readonly start = performance.now();
  private lastPrint = 0;
  private readonly stream: { write(s: string): unknown; isTTY?: boolean };
  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? (globalThis as { process?: { stderr: { write(s: string): unknown; isTTY?: boolean } } }).process?.stderr ?? { write: (s: string) => console.log(s.trimEnd()) };
  }

  /** Reports that `done` of `total` units are finished, with metrics to show. */
  update(done: number, metrics: Record<string, number | string> = {}, force = false): void {
    const now = performance.now();
    const tty = !!this.stream.isTTY;
    if (!force && now - this.lastPrint < (tty ? 100 : 5000) && done < this.opts.total) return;
    this.lastPrint = now;
    const elapsed = (now - this.start) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    const eta = (this.opts.total - done) / Math.max(rate, 1e-9);
    const width = 20;
    const filled = Math.round((width * done) / Math.max(this.opts.total, 1));
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const shown = Object.entries(metrics)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(4)) : v}`)
      .join('  ');
    const line = `${this.opts.label} [${bar}] ${done}/${this.opts.total}  ${rate.toFixed(1)} ${this.opts.unit ?? 'it'}/s  ETA ${formatSeconds(eta)}  ${shown}`;
    this.stream.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  /** Final line with the total time. */
  done(metrics: Record<string, number | string> = {}): void {
    this.update(this.opts.total, metrics, true);
    if (this.stream.isTTY) this.stream.write('\n');
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }
}
