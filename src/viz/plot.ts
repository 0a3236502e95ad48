/**
 * Line and scatter plots drawn straight into RGBA images: loss and accuracy per epoch,
 * deletion / insertion curves, accuracy vs. epsilon, similarity vs. layer (line plots, several
 * series, legend, linear or log axes), and PCA / t-SNE embeddings coloured by class (scatter).
 */
import { createImage, drawLine, fillCircle, fillRect, type Color, type RGBAImage } from './image.ts';
import { drawText, fitText, measureText } from './font.ts';

/** matplotlib's 'tab10' qualitative palette. */
export const PALETTE: readonly Color[] = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

/** Colour of class / series i: tab10 for the first ten, then well-spread hues (golden angle) at alternating lightness. */
export function classColor(i: number): Color {
  if (i < PALETTE.length) return PALETTE[i]!;
  const h = ((i - PALETTE.length) * 137.508) % 360;
  const l = [0.45, 0.6, 0.35][i % 3]!;
  const s = 0.7;
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export interface Series {
  name: string;
  y: ArrayLike<number>;
  /** Default: 0, 1, 2, ... (or 1, 2, ... with `xFromOne`). */
  x?: ArrayLike<number>;
  color?: Color;
  dashed?: boolean;
  /** Dots at the data points (default: when there are at most 40 points). */
  markers?: boolean;
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  logX?: boolean;
  logY?: boolean;
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** Font scale of labels and ticks (default 1; the title uses twice this). */
  textScale?: number;
  /** Line width in pixels (default 2). */
  lineWidth?: number;
  /** Default x values start at 1 instead of 0 (epochs). */
  xFromOne?: boolean;
  /** Where the legend goes (default 'auto': the corner covering the fewest points); 'none' hides it. */
  legend?: 'auto' | 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'none';
}

const GRID: Color = [232, 232, 232];
const AXIS: Color = [60, 60, 60];
const TEXT: Color = [0, 0, 0];

/** "Nice" tick values covering [lo, hi] (Heckbert's algorithm): steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, maxTicks = 6): { ticks: number[]; step: number } {
  if (!(hi > lo)) return { ticks: [lo], step: 1 };
  const raw = (hi - lo) / Math.max(1, maxTicks - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { ticks, step };
}

/** A tick label: as many decimals as the step needs; exponent notation for very large or small values. */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / a) + 1e-9)))).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return v.toFixed(Math.max(0, Math.min(6, Math.ceil(-Math.log10(step) - 1e-9))));
}

interface Scale {
  lo: number;
  hi: number;
  log: boolean;
  ticks: number[];
  labels: string[];
  /** Data value -> 0..1 along the axis. */
  frac: (v: number) => number;
}

function makeScale(values: number[], log: boolean, fixed: readonly [number, number] | undefined, maxTicks: number): Scale {
  let vals = values.filter((v) => Number.isFinite(v) && (!log || v > 0));
  if (vals.length === 0) vals = log ? [1, 10] : [0, 1];
  let lo = fixed?.[0] ?? Math.min(...vals);
  let hi = fixed?.[1] ?? Math.max(...vals);
  if (log) {
    let a = Math.log10(lo);
    let b = Math.log10(hi);
    if (!(b > a)) (a -= 0.5), (b += 0.5);
    else if (!fixed) {
      const padding = (b - a) * 0.04;
      (a -= padding), (b += padding);
    }
    [lo, hi] = [10 ** a, 10 ** b];
    let ticks: number[] = [];
    for (const mults of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      ticks = [];
      for (let e = Math.floor(a); e <= Math.ceil(b); e++) for (const m of mults) if (m * 10 ** e >= lo * (1 - 1e-9) && m * 10 ** e <= hi * (1 + 1e-9)) ticks.push(m * 10 ** e);
      if (ticks.length >= 3) break;
    }
    const labels = ticks.map((t) => formatTick(t, t));
    return { lo, hi, log, ticks, labels, frac: (v) => (Math.log10(v) - a) / (b - a) };
  }
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    (lo -= d), (hi += d);
  } else if (!fixed) {
    const padding = (hi - lo) * 0.04;
    (lo -= padding), (hi += padding);
  }
  const { ticks, step } = niceTicks(lo, hi, maxTicks);
  return { lo, hi, log, ticks, labels: ticks.map((t) => formatTick(t, step)), frac: (v) => (v - lo) / (hi - lo) };
}

interface Frame {
  img: RGBAImage;
  x0: number;
  y0: number;
  w: number;
  h: number;
  px: (v: number) => number;
  py: (v: number) => number;
}

/** Lays out the title, axes, ticks, grid lines and labels; returns the plot area and the data-to-pixel maps. */
function drawAxes(xs: number[], ys: number[], opts: PlotOptions, rightMargin = 0, xTicksOverride?: number[]): Frame {
  const W = opts.width ?? 640;
  const H = opts.height ?? 420;
  const ts = opts.textScale ?? 1;
  const th = measureText('0', ts).height;
  const xs_ = makeScale(xs, !!opts.logX, opts.xRange, Math.max(3, Math.floor(W / 90)));
  const ys_ = makeScale(ys, !!opts.logY, opts.yRange, Math.max(3, Math.floor(H / 60)));
  if (xTicksOverride) {
    xs_.ticks = xTicksOverride.filter((t) => t >= xs_.lo && t <= xs_.hi);
    xs_.labels = xs_.ticks.map((t) => formatTick(t, 1));
  }
  const yLabelW = Math.max(...ys_.labels.map((l) => measureText(l, ts).width));
  const titleH = opts.title ? measureText(opts.title, 2 * ts).height + 12 : 10;
  const left = 10 + (opts.yLabel ? th + 8 : 0) + yLabelW + 8;
  const bottom = 8 + th + (opts.xLabel ? th + 10 : 0) + 8;
  const right = 16 + rightMargin;
  const img = createImage(W, H);
  const x0 = left;
  const y0 = titleH;
  const w = W - left - right;
  const h = H - titleH - bottom;
  if (w < 20 || h < 20) throw new Error(`plot: ${W}x${H} is too small for its labels`);
  const px = (v: number): number => x0 + xs_.frac(v) * w;
  const py = (v: number): number => y0 + h - ys_.frac(v) * h;

  for (const t of xs_.ticks) fillRect(img, Math.round(px(t)), y0, 1, h, GRID);
  for (const t of ys_.ticks) fillRect(img, x0, Math.round(py(t)), w, 1, GRID);
  drawLine(img, x0, y0 + h, x0 + w, y0 + h, AXIS, 1);
  drawLine(img, x0, y0, x0, y0 + h, AXIS, 1);
  xs_.ticks.forEach((t, i) => {
    const x = Math.round(px(t));
    fillRect(img, x, y0 + h, 1, 4, AXIS);
    const l = xs_.labels[i]!;
    drawText(img, l, x - Math.floor(measureText(l, ts).width / 2), y0 + h + 7, { scale: ts, color: TEXT });
  });
  ys_.ticks.forEach((t, i) => {
    const y = Math.round(py(t));
    fillRect(img, x0 - 4, y, 4, 1, AXIS);
    const l = ys_.labels[i]!;
    drawText(img, l, x0 - 7 - measureText(l, ts).width, y - Math.floor(th / 2) + ts, { scale: ts, color: TEXT });
  });
  if (opts.title) {
    const t = fitText(opts.title, W - 10, 2 * ts);
    drawText(img, t, Math.floor((W - measureText(t, 2 * ts).width) / 2), 6, { scale: 2 * ts, color: TEXT });
  }
  if (opts.xLabel) drawText(img, opts.xLabel, x0 + Math.floor((w - measureText(opts.xLabel, ts).width) / 2), H - 8 - th, { scale: ts, color: TEXT });
  if (opts.yLabel) {
    const l = fitText(opts.yLabel, h, ts);
    drawText(img, l, 10, y0 + Math.floor((h - measureText(l, ts).width) / 2), { scale: ts, color: TEXT, vertical: true });
  }
  return { img, x0, y0, w, h, px, py };
}

/** Line plot of one or more series. Non-finite y values (and x or y <= 0 on a log axis) break the line. */
export function linePlot(series: readonly Series[], opts: PlotOptions = {}): RGBAImage {
  const xOf = (s: Series, i: number): number => (s.x ? s.x[i]! : i + (opts.xFromOne ? 1 : 0));
  const allX: number[] = [];
  const allY: number[] = [];
  for (const s of series) for (let i = 0; i < s.y.length; i++) (allX.push(xOf(s, i)), allY.push(s.y[i]!));
  // Integer x values (epochs, layers) get integer ticks when there are few of them.
  const distinct = [...new Set(allX)].sort((a, b) => a - b);
  const integerX = !opts.logX && distinct.length <= 12 && distinct.every(Number.isInteger);
  const f = drawAxes(allX, allY, opts, 0, integerX && distinct.length > 1 ? intTicks(distinct) : undefined);
  const lw = opts.lineWidth ?? 2;
  const ok = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && (!opts.logX || x > 0) && (!opts.logY || y > 0);
  const clip = { x0: f.x0, y0: f.y0, x1: f.x0 + f.w, y1: f.y0 + f.h };
  series.forEach((s, si) => {
    const color = s.color ?? classColor(si);
    const pts: [number, number][][] = [[]];
    for (let i = 0; i < s.y.length; i++) {
      const x = xOf(s, i);
      const y = s.y[i]!;
      if (ok(x, y)) pts[pts.length - 1]!.push([f.px(x), f.py(y)]);
      else if (pts[pts.length - 1]!.length) pts.push([]);
    }
    const markers = s.markers ?? s.y.length <= 40;
    for (const run of pts) {
      polyline(f.img, run, color, lw, !!s.dashed, clip);
      if (markers) for (const [x, y] of run) if (inside(x, y, clip)) fillCircle(f.img, x, y, lw + 1, color);
    }
  });
  if (opts.legend !== 'none' && series.length > 0) {
    const pts: [number, number][] = [];
    for (const s of series) for (let i = 0; i < s.y.length; i++) if (ok(xOf(s, i), s.y[i]!)) pts.push([f.px(xOf(s, i)), f.py(s.y[i]!)]);
    drawLegend(f, series.map((s, i) => ({ name: s.name, color: s.color ?? classColor(i), dashed: !!s.dashed })), pts, opts);
  }
  return f.img;
}

function intTicks(distinct: number[]): number[] {
  const span = distinct[distinct.length - 1]! - distinct[0]!;
  const step = Math.max(1, niceTicks(0, span, 8).step);
  return distinct.filter((v) => Number.isInteger((v - distinct[0]!) / Math.ceil(step)));
}

interface ClipRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function inside(x: number, y: number, c: ClipRect): boolean {
  return x >= c.x0 - 0.5 && x <= c.x1 + 0.5 && y >= c.y0 - 0.5 && y <= c.y1 + 0.5;
}

/** Draws a polyline, clipped to the plot area (Liang-Barsky per segment), dashed if asked. */
function polyline(img: RGBAImage, pts: [number, number][], color: Color, width: number, dashed: boolean, c: ClipRect): void {
  const DASH = 7;
  const GAP = 5;
  let phase = 0;
  for (let i = 0; i + 1 < pts.length; i++) {
    let [ax, ay] = pts[i]!;
    let [bx, by] = pts[i + 1]!;
    const len = Math.hypot(bx - ax, by - ay);
    const seg = clipSegment(ax, ay, bx, by, c);
    if (!seg) {
      phase += len;
      continue;
    }
    [ax, ay, bx, by] = seg;
    if (!dashed) {
      drawLine(img, ax, ay, bx, by, color, width);
      continue;
    }
    const l = Math.hypot(bx - ax, by - ay);
    for (let t = 0; t < l; ) {
      const inDash = phase % (DASH + GAP) < DASH;
      const left = inDash ? DASH - (phase % (DASH + GAP)) : DASH + GAP - (phase % (DASH + GAP));
      const t1 = Math.min(l, t + left);
      if (inDash) drawLine(img, ax + ((bx - ax) * t) / l, ay + ((by - ay) * t) / l, ax + ((bx - ax) * t1) / l, ay + ((by - ay) * t1) / l, color, width);
      phase += t1 - t;
      t = t1;
    }
  }
}

function clipSegment(ax: number, ay: number, bx: number, by: number, c: ClipRect): [number, number, number, number] | null {
  let t0 = 0;
  let t1 = 1;
  const dx = bx - ax;
  const dy = by - ay;
  for (const [p, q] of [[-dx, ax - c.x0], [dx, c.x1 - ax], [-dy, ay - c.y0], [dy, c.y1 - ay]] as const) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return null;
  }
  return [ax + t0 * dx, ay + t0 * dy, ax + t1 * dx, ay + t1 * dy];
}

interface LegendEntry {
  name: string;
  color: Color;
  dashed?: boolean;
  dot?: boolean;
}

/** A framed legend in the plot corner that hides the fewest data points (or the asked one). */
function drawLegend(f: Frame, entries: LegendEntry[], pts: [number, number][], opts: PlotOptions): void {
  const ts = opts.textScale ?? 1;
  const lineH = measureText('X', ts).height + 5;
  const sample = 22;
  const names = entries.map((e) => fitText(e.name, f.w / 2, ts));
  const bw = sample + 14 + Math.max(...names.map((n) => measureText(n, ts).width));
  const bh = entries.length * lineH + 8;
  const m = 8;
  const corners = {
    'top-right': [f.x0 + f.w - bw - m, f.y0 + m],
    'top-left': [f.x0 + m, f.y0 + m],
    'bottom-right': [f.x0 + f.w - bw - m, f.y0 + f.h - bh - m],
    'bottom-left': [f.x0 + m, f.y0 + f.h - bh - m],
  } as const;
  let where = opts.legend && opts.legend !== 'auto' && opts.legend !== 'none' ? opts.legend : undefined;
  if (!where) {
    let best = Infinity;
    for (const [k, [x, y]] of Object.entries(corners) as [keyof typeof corners, readonly [number, number]][]) {
      const covered = pts.filter(([px, py]) => px >= x - 4 && px <= x + bw + 4 && py >= y - 4 && py <= y + bh + 4).length;
      if (covered < best) (best = covered), (where = k);
    }
  }
  const [x, y] = corners[where!];
  fillRect(f.img, x, y, bw, bh, [255, 255, 255, 230]);
  drawBoxOutline(f.img, x, y, bw, bh, [180, 180, 180]);
  entries.forEach((e, i) => {
    const cy = y + 4 + i * lineH + Math.floor(lineH / 2) - 1;
    if (e.dot) fillCircle(f.img, x + 6 + sample / 2, cy, 3, e.color);
    else polyline(f.img, [[x + 6, cy], [x + 6 + sample, cy]], e.color, 2, !!e.dashed, { x0: 0, y0: 0, x1: f.img.width, y1: f.img.height });
    drawText(f.img, names[i]!, x + sample + 10, cy - Math.floor(measureText('X', ts).height / 2) + ts, { scale: ts, color: TEXT });
  });
}

function drawBoxOutline(img: RGBAImage, x: number, y: number, w: number, h: number, color: Color): void {
  fillRect(img, x, y, w, 1, color);
  fillRect(img, x, y + h - 1, w, 1, color);
  fillRect(img, x, y, 1, h, color);
  fillRect(img, x + w - 1, y, 1, h, color);
}

export interface ScatterOptions extends Omit<PlotOptions, 'legend' | 'lineWidth' | 'xFromOne'> {
  /** Name of class k (default: k). */
  classNames?: readonly string[];
  /** Dot radius in pixels (default 2.5). */
  pointRadius?: number;
  /** Dot opacity 0..1 (default 0.8). */
  opacity?: number;
  /** Show the class legend to the right of the plot (default true). */
  legend?: boolean;
}

/** Scatter plot of 2-D points (e.g. PCA or t-SNE of a layer's activations), coloured by integer class label. */
export function scatterPlot(x: ArrayLike<number>, y: ArrayLike<number>, labels: ArrayLike<number>, opts: ScatterOptions = {}): RGBAImage {
  if (x.length !== y.length || x.length !== labels.length) throw new Error('scatterPlot: x, y and labels differ in length');
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const ts = opts.textScale ?? 1;
  const H = opts.height ?? 480;
  const lineH = measureText('X', ts).height + 5;
  const name = (k: number): string => opts.classNames?.[k] ?? String(k);
  const showLegend = opts.legend ?? true;
  let legendW = 0;
  let perCol = classes.length;
  if (showLegend && classes.length) {
    perCol = Math.max(1, Math.floor((H - 60) / lineH));
    const cols = Math.ceil(classes.length / perCol);
    const colW = 18 + Math.max(...classes.map((k) => measureText(fitText(name(k), 120, ts), ts).width)) + 8;
    legendW = cols * colW + 8;
  }
  const f = drawAxes(Array.from(x), Array.from(y), { ...opts, legend: undefined, height: H }, legendW);
  const r = opts.pointRadius ?? 2.5;
  const alpha = Math.round(255 * (opts.opacity ?? 0.8));
  // Draw in a fixed shuffled order so no class systematically hides under another.
  const order = Array.from({ length: x.length }, (_, i) => i).sort((a, b) => hash(a) - hash(b));
  for (const i of order) {
    const xi = x[i]!;
    const yi = y[i]!;
    if (!Number.isFinite(xi) || !Number.isFinite(yi)) continue;
    const c = classColor(classes.indexOf(labels[i]!));
    fillCircle(f.img, f.px(xi), f.py(yi), r, [c[0], c[1], c[2], alpha]);
  }
  if (showLegend) {
    const colW = (legendW - 8) / Math.ceil(classes.length / perCol);
    classes.forEach((k, j) => {
      const lx = f.x0 + f.w + 16 + Math.floor(j / perCol) * colW;
      const ly = f.y0 + (j % perCol) * lineH + Math.floor(lineH / 2);
      fillCircle(f.img, lx + 5, ly, 4, classColor(j));
      drawText(f.img, fitText(name(k), 120, ts), lx + 14, ly - Math.floor(measureText('X', ts).height / 2) + ts, { scale: ts, color: TEXT });
    });
  }
  return f.img;
}

function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  return Math.imul(h, 0xc2b2ae35) >>> 0;
}
