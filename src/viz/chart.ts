/**
 * Interactive line charts for HTML reports: a chart is plain data (ChartSpec: series, axis
 * labels, ranges), written into the page as JSON and drawn there by Observable Plot as SVG:
 * lines, ticks and axis labels are vector shapes and <text>, a tip lists every series' value at
 * the x under the pointer, and the chart is redrawn at its box's width. Every chart of every
 * report goes through here (training curves, deletion / insertion, sanity checks, ...);
 * `chartPng` draws the same spec as a PNG for the CLI's files.
 *
 * Why Plot (0.6, ISC, Observable; needs d3 7, ISC): SVG with real text, axis labels, a pointer
 * tip and automatic margins built in, and it runs in browsers and, given a DOM, in Node. Its
 * UMD build and d3's are inlined into each report (209 KB + 281 KB minified, 69 KB + 92 KB
 * gzipped), so a report opens offline. Measured against the other SVG libraries (npm, 2026-12):
 * Chartist 1.5 is 47 KB with its CSS but draws tick labels as HTML in <foreignObject> and has no
 * axis titles, tips, legend or second axis (we would write them here); frappe-charts 1.6 is 69 KB;
 * billboard.js 4 is 830 KB with d3; ApexCharts 7 is 1 MB under its own licence, not MIT or ISC.
 * uPlot (51 KB, used before) draws on a canvas, so its charts are bitmaps.
 *
 * This module is browser-safe: it never reads the library's files; the caller hands
 * HtmlReport.render() the library's source (files.ts's `chartLibrary()` reads it in Node).
 */
import { linePlot, PALETTE } from './plot.ts';
import type { RGBAImage } from './image.ts';

export interface ChartSeries {
  name: string;
  y: readonly (number | null)[];
  /** Default: 0, 1, 2, ... (or 1, 2, ... with the chart's `xFromOne`); with `xLabels`, indices into them. */
  x?: readonly number[];
  dashed?: boolean;
  /** Which y axis (default 'left'); 'right' needs the chart's `y2Label`. */
  axis?: 'left' | 'right';
  /** Palette index of its colour (default: its position), so related series (train and validation) can share one. */
  color?: number;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** A second y axis on the right, for series with `axis: 'right'` (e.g. accuracy beside loss). */
  y2Label?: string;
  yRange?: readonly [number, number];
  y2Range?: readonly [number, number];
  /** Names of the x positions 0, 1, 2, ... (e.g. layers), shown as tick labels and in the legend. */
  xLabels?: readonly string[];
  /** The x value's name in the legend (default 'x'; the axis label is often too long there). */
  xName?: string;
  /** Default x values start at 1 (epochs). */
  xFromOne?: boolean;
  /** Height in CSS pixels (default 320); the width follows the page. */
  height?: number;
}

/** The library a report inlines to draw its charts: d3's and Plot's UMD builds, in that order (they define the globals d3 and Plot). */
export interface ChartLibrary {
  js: string;
}

/** The x values of a series as the chart reads them. */
function seriesX(s: ChartSeries, spec: ChartSpec): readonly number[] {
  return s.x ?? s.y.map((_, i) => i + (spec.xFromOne && !spec.xLabels ? 1 : 0));
}

/** The page's data layout: one shared, sorted x array and each series' y at those x (null where it has none). */
export function alignedData(spec: ChartSpec): (number | null)[][] {
  for (const s of spec.series)
    if (s.x && s.x.length !== s.y.length) throw new Error(`chart '${spec.title}': series '${s.name}' has ${s.x.length} x values and ${s.y.length} y values`);
  const xs = [...new Set(spec.series.flatMap((s) => seriesX(s, spec)))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  return [
    xs,
    ...spec.series.map((s) => {
      const col: (number | null)[] = new Array(xs.length).fill(null);
      seriesX(s, spec).forEach((x, i) => (col[at.get(x)!] = s.y[i] !== null && Number.isFinite(s.y[i]) ? s.y[i]! : null));
      return col;
    }),
  ];
}

/** Colour of series i, as the PNG plots use it (matplotlib's tab10). */
export function seriesColor(i: number): string {
  const [r, g, b] = PALETTE[i % PALETTE.length]!;
  return `rgb(${r},${g},${b})`;
}

/** JSON safe inside a <script> element: no '</script>' or '<!--' can close or confuse it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The chart's placeholder: a box the runtime fills, its spec and data as JSON, and the title for readers without scripts. */
export function chartHtml(spec: ChartSpec, escape: (s: string) => string): string {
  if (spec.series.some((s) => s.axis === 'right') && !spec.y2Label) throw new Error(`chart '${spec.title}': a series on the right axis needs the chart's y2Label`);
  const payload = { spec: { ...spec, series: spec.series.map(({ y: _y, x: _x, ...rest }) => rest) }, data: alignedData(spec) };
  return (
    `<figure class="gb-chart" role="img" aria-label="${escape(`${spec.title}: ${spec.yLabel} against ${spec.xLabel}`)}">` +
    `<script type="application/json" class="gb-chart-spec">${scriptJson(payload)}</script>` +
    `<noscript>${escape(spec.title)} (a chart: it needs JavaScript)</noscript></figure>`
  );
}

/** Chart styles for the page: the title, the legend under the plot, and the SVG at its box's width. */
export const CHART_STYLE = `.gb-chart{flex:1 1 420px;min-width:0;max-width:100%}
.gb-chart-title{font-weight:600;text-align:center;margin:.2em 0}
.gb-plot{width:100%}.gb-plot svg{display:block;max-width:100%;height:auto;overflow:visible}
.gb-legend{display:flex;flex-wrap:wrap;justify-content:center;gap:.1em 1em;font-size:.85em;margin-top:.2em}
.gb-key{white-space:nowrap}.gb-key svg{vertical-align:middle;margin-right:.3em}`;

/**
 * Runs in the page: draws every .gb-chart with Plot (globals d3 and Plot), and again when its box
 * changes width. Plain ES2017 in a string, so the report needs no bundler. A second y axis is
 * drawn by mapping its series linearly onto the left axis' domain and labelling its ticks with
 * their own values; the tip shows the values themselves, 4 significant digits.
 */
export const CHART_RUNTIME = `(function () {
  var palette = ${JSON.stringify(PALETTE.map((_, i) => seriesColor(i)))};
  var SVG = 'http://www.w3.org/2000/svg';
  // a number to 4 significant digits, as short as it allows (3e+6, 0.25, 1.5e-4), never float noise such as 0.30000000000000004
  var exp = d3.format('.3~e');
  function fmt(v) {
    if (v == null || !isFinite(v)) return '-';
    var a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? exp(v).replace(/\u2212/g, '-') : String(Number(v.toPrecision(4))); // d3 writes U+2212 for minus; one sign throughout
  }
  var FONT = '12px system-ui, sans-serif', measure = document.createElement('canvas').getContext('2d');
  // the width in pixels of the widest tick label
  function widest(ticks) {
    measure.font = FONT;
    return Math.ceil(d3.max(ticks, function (v) { return measure.measureText(fmt(v)).width; }) || 8);
  }
  // the domain of some series' values, widened to round numbers (a constant series gets a unit-wide one)
  function domain(list, fixed) {
    if (fixed) return fixed;
    var all = [];
    list.forEach(function (s) { s.points.forEach(function (p) { all.push(p.value); }); });
    if (!all.length) return [0, 1];
    var lo = d3.min(all), hi = d3.max(all);
    if (lo === hi) { lo -= 0.5; hi += 0.5; }
    return d3.scaleLinear().domain([lo, hi]).nice().domain();
  }
  function seriesOf(payload) {
    var cols = payload.data;
    return payload.spec.series.map(function (s, i) {
      var points = [];
      cols[0].forEach(function (x, k) { var v = cols[i + 1][k]; if (v != null) points.push({ x: x, value: v, y: v }); });
      return { name: s.name, right: s.axis === 'right', dashed: !!s.dashed, color: palette[(s.color != null ? s.color : i) % palette.length], points: points };
    });
  }
  function sample(s) {
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', '24'); svg.setAttribute('height', '10');
    var line = document.createElementNS(SVG, 'line');
    [['x1', 0], ['y1', 5], ['x2', 24], ['y2', 5], ['stroke', s.color], ['stroke-width', 2.5]].forEach(function (a) { line.setAttribute(a[0], String(a[1])); });
    if (s.dashed) line.setAttribute('stroke-dasharray', '6 3');
    svg.appendChild(line);
    return svg;
  }
  function legend(series) {
    var div = document.createElement('div');
    div.className = 'gb-legend';
    series.forEach(function (s) {
      var key = document.createElement('span');
      key.className = 'gb-key';
      key.appendChild(sample(s));
      key.appendChild(document.createTextNode(s.name));
      div.appendChild(key);
    });
    return div;
  }
  function plot(payload, series, width) {
    var spec = payload.spec, xs = payload.data[0], labels = spec.xLabels, height = spec.height || 320;
    var left = series.filter(function (s) { return !s.right; }), right = series.filter(function (s) { return s.right; });
    // the tick labels are known here, so the margins fit the widest (tick, gap and text)
    var yd = domain(left, spec.yRange), yTicks = d3.ticks(yd[0], yd[1], Math.max(2, Math.round((height - 60) / 35)));
    var marginLeft = 12 + widest(yTicks);
    var marginRight = labels ? 30 : 20;
    var marks = [Plot.gridY(yTicks, { stroke: '#000', strokeOpacity: 0.08 }), Plot.axisY(yTicks, { label: spec.yLabel, tickFormat: fmt })];
    if (spec.y2Label) {
      var rd = domain(right, spec.y2Range), rTicks = d3.ticks(rd[0], rd[1], 5);
      var toLeft = function (v) { return yd[0] + (v - rd[0]) * (yd[1] - yd[0]) / (rd[1] - rd[0]); };
      right.forEach(function (s) { s.points.forEach(function (p) { p.y = toLeft(p.value); }); });
      marks.push(Plot.axisY(rTicks.map(toLeft), { anchor: 'right', label: spec.y2Label, tickFormat: function (d) { return fmt(rd[0] + (d - yd[0]) * (rd[1] - rd[0]) / (yd[1] - yd[0])); } }));
      marginRight = 12 + widest(rTicks);
    }
    var x = { domain: d3.extent(xs), label: spec.xLabel, tickFormat: fmt };
    var marginBottom = 40;
    if (labels) {
      // layer names: one tick each, slanted so long names fit a narrow chart
      x.ticks = labels.map(function (_, i) { return i; });
      x.tickFormat = function (i) { return labels[i]; };
      x.tickRotate = -30;
      marginBottom = 32 + 6.5 * d3.max(labels, function (l) { return l.length; }) / 2;
    } else if (xs.every(Number.isInteger)) {
      x.ticks = d3.ticks(x.domain[0], x.domain[1], Math.max(2, Math.min(xs.length, width / 70))).filter(Number.isInteger); // epochs and steps: whole numbers only
    }
    var few = xs.length <= 12; // markers only where they do not crowd the lines
    series.forEach(function (s) {
      marks.push(Plot.line(s.points, { x: 'x', y: 'y', stroke: s.color, strokeWidth: 2, strokeDasharray: s.dashed ? '6 4' : null }));
      if (few) marks.push(Plot.dot(s.points, { x: 'x', y: 'y', fill: s.color, r: 2.5 }));
    });
    // on hover: a rule at the nearest x and a tip with every series' value there
    var xName = spec.xName || 'x';
    var rows = xs.map(function (xv, k) {
      var lines = [xName + ': ' + (labels ? labels[xv] : fmt(xv))];
      series.forEach(function (s, i) { var v = payload.data[i + 1][k]; if (v != null) lines.push(s.name + ': ' + fmt(v)); });
      return { x: xv, text: lines.join('\\n') };
    });
    // (any distance: Plot's default of 40 px leaves gaps between the few x of a training run)
    marks.push(Plot.ruleX(rows, Plot.pointerX({ x: 'x', stroke: '#888', maxRadius: Infinity })));
    marks.push(Plot.tip(rows, Plot.pointerX({ x: 'x', title: 'text', frameAnchor: 'top', maxRadius: Infinity })));
    return Plot.plot({
      width: width, height: height, marginLeft: marginLeft, marginRight: marginRight, marginBottom: marginBottom,
      style: { font: FONT, overflow: 'visible' },
      x: x, y: { domain: yd }, marks: marks,
    });
  }
  document.querySelectorAll('.gb-chart').forEach(function (box) {
    var payload = JSON.parse(box.querySelector('.gb-chart-spec').textContent);
    var series = seriesOf(payload);
    var title = document.createElement('div');
    title.className = 'gb-chart-title';
    title.textContent = payload.spec.title;
    var holder = document.createElement('div');
    holder.className = 'gb-plot';
    box.appendChild(title);
    box.appendChild(holder);
    box.appendChild(legend(series));
    var drawn = 0;
    function draw() {
      var width = Math.max(240, Math.floor(holder.clientWidth));
      if (width === drawn) return;
      drawn = width;
      holder.replaceChildren(plot(payload, series, width));
    }
    draw();
    if (typeof ResizeObserver === 'function') new ResizeObserver(draw).observe(holder);
  });
})();`;

/** The same chart as a PNG (for the CLI's files); one y axis only, so a right-axis series is drawn on the left's scale. */
export function chartPng(spec: ChartSpec, size: { width?: number; height?: number } = {}): RGBAImage {
  return linePlot(
    spec.series.map((s) => ({ name: s.name, y: s.y.map((v) => v ?? NaN), x: s.x, dashed: s.dashed, color: s.color === undefined ? undefined : PALETTE[s.color % PALETTE.length] })),
    { title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, yRange: spec.yRange, xFromOne: spec.xFromOne, width: size.width ?? 640, height: size.height ?? 420 },
  );
}
