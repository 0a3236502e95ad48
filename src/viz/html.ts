/**
 * A self-contained HTML report: headings, paragraphs, tables, interactive charts (chart.ts)
 * and PNG images embedded as data: URLs, so one file can be mailed or opened offline. Build it
 * block by block, then `render()` the string (in Node, files.ts's writeReport inlines the chart
 * library and writes it). The layout fits any window: figures wrap, and wide tables and image
 * grids scroll inside their own box instead of widening the page.
 *
 *   const r = new HtmlReport('Saliency on MNIST');
 *   r.section('Vanilla gradient').paragraph('...').image(png, { caption: 'digit 7' });
 *   r.table([['method', 'AUC'], ['IG', 0.81]], { header: true });
 *   r.chart({ title: 'loss', xLabel: 'epoch', yLabel: 'loss', series: [{ name: 'train', y: [0.9, 0.4] }] });
 */
import { CHART_RUNTIME, CHART_STYLE, chartHtml, type ChartLibrary, type ChartSpec } from './chart.ts';
import type { RGBAImage } from './image.ts';
import { encodePng } from './png.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648) with padding; no Buffer or btoa needed. */
export function base64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    parts.push(
      B64[n >> 18]! + B64[(n >> 12) & 63]! + (i + 1 < bytes.length ? B64[(n >> 6) & 63]! : '=') + (i + 2 < bytes.length ? B64[n & 63]! : '='),
    );
  }
  return parts.join('');
}

/** A data: URL for PNG bytes, or for an image (encoded here). */
export function pngDataUrl(png: Uint8Array | RGBAImage): string {
  return 'data:image/png;base64,' + base64(png instanceof Uint8Array ? png : encodePng(png));
}

function formatCell(v: unknown): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  return v === null || v === undefined ? '' : String(v);
}

export interface ImageBlockOptions {
  caption?: string;
  alt?: string;
  /** Display width in CSS pixels (default: natural size). */
  width?: number;
  /** Keep pixels crisp when the browser scales (default true: these are small images of data). */
  pixelated?: boolean;
}

export interface FigureItem extends ImageBlockOptions {
  png: Uint8Array | RGBAImage;
}

/** One cell of an image table: an image, a text (e.g. why there is no image), or nothing. */
export type ImageTableCell = { png: Uint8Array | RGBAImage; alt?: string } | { text: string } | null;

export interface ImageTableOptions {
  colTitles: readonly string[];
  rowTitles: readonly string[];
  /** Row-major, rowTitles.length x colTitles.length. */
  cells: readonly ImageTableCell[][];
  /** Display size of each image in CSS pixels (default 84; images are scaled, crisp). */
  size?: number;
  caption?: string;
}

const STYLE = `*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45;overflow-wrap:break-word}
h1{border-bottom:2px solid #ddd;padding-bottom:.2em;font-size:1.7em}h2{margin-top:1.6em;border-bottom:1px solid #eee}
.scroll{overflow-x:auto;max-width:100%;margin:1em 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right;vertical-align:top}
th{background:#f4f4f4;font-weight:600}td:first-child,th:first-child{text-align:left}caption{caption-side:bottom;color:#555;padding-top:.3em;text-align:left}
td:first-child{white-space:nowrap}td.na{color:#555;font-style:italic;text-align:left}td.fail{color:#a00;text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start;margin:.5em 0}
figure{margin:0;max-width:100%}figure img{max-width:100%;height:auto}figcaption{color:#555;font-size:.9em;text-align:center}
img.px{image-rendering:pixelated}pre{background:#f6f6f6;padding:.8em;overflow:auto;white-space:pre-wrap}
table.maps td,table.maps th{padding:2px;text-align:center;vertical-align:middle;line-height:1.2}table.maps thead th{font-size:.8em;font-weight:500;max-width:7em}table.maps img{display:block}
table.maps th:first-child{position:sticky;left:0;z-index:1;text-align:right;white-space:nowrap;font-size:.8em;font-weight:500;padding:2px 6px}table.maps td.text{font-size:.75em;color:#666;max-width:7em;white-space:normal}`;

export class HtmlReport {
  private readonly blocks: string[] = [];
  private open = false;
  private charts = 0;

  constructor(readonly title: string) {}

  /** Starts a new section with a level-2 heading (closing the previous one). */
  section(title: string): this {
    this.close();
    this.blocks.push(`<section>\n<h2>${escapeHtml(title)}</h2>`);
    this.open = true;
    return this;
  }

  heading(text: string, level: 2 | 3 | 4 = 3): this {
    this.blocks.push(`<h${level}>${escapeHtml(text)}</h${level}>`);
    return this;
  }

  /** A paragraph of plain text (escaped). */
  paragraph(text: string): this {
    this.blocks.push(`<p>${escapeHtml(text)}</p>`);
    return this;
  }

  /** Preformatted text (logs, configs). */
  pre(text: string): this {
    this.blocks.push(`<pre>${escapeHtml(text)}</pre>`);
    return this;
  }

  /** Raw HTML, inserted as is. */
  raw(html: string): this {
    this.blocks.push(html);
    return this;
  }

  /**
   * A table from rows of cells; with `header`, the first row is the header. Numbers are shown to
   * 4 significant digits. A row shorter than the header stretches its last cell over the rest
   * (a note in place of the scores a row does not have).
   */
  table(rows: readonly (readonly unknown[])[], opts: { header?: boolean | readonly string[]; caption?: string } = {}): this {
    let head: readonly unknown[] | undefined;
    let body = rows;
    if (Array.isArray(opts.header)) head = opts.header;
    else if (opts.header && rows.length) [head, body] = [rows[0]!, rows.slice(1)];
    const width = Math.max(head?.length ?? 0, ...body.map((r) => r.length));
    const tr = (cells: readonly unknown[], tag: 'td' | 'th'): string => `<tr>${cells.map((c, i) => cellHtml(c, tag, i === cells.length - 1 ? width - i : 1)).join('')}</tr>`;
    this.blocks.push(
      `<div class="scroll"><table>${opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ''}` +
        (head ? `<thead>${tr(head, 'th')}</thead>` : '') +
        `<tbody>${body.map((r) => tr(r, 'td')).join('\n')}</tbody></table></div>`,
    );
    return this;
  }

  /** An interactive chart (chart.ts); several in a row share the width and wrap on narrow windows. */
  chart(spec: ChartSpec): this {
    return this.chartRow([spec]);
  }

  /** Several charts side by side, wrapping on narrow windows. */
  chartRow(specs: readonly ChartSpec[]): this {
    this.charts += specs.length;
    this.blocks.push(`<div class="figs">${specs.map((s) => chartHtml(s, escapeHtml)).join('\n')}</div>`);
    return this;
  }

  /** A grid of images with real text for its row and column titles, scrolling sideways inside its own box when wide. */
  imageTable(opts: ImageTableOptions): this {
    const size = opts.size ?? 84;
    const cell = (c: ImageTableCell): string => {
      if (!c) return '<td></td>';
      if ('text' in c) return `<td class="text">${escapeHtml(c.text)}</td>`;
      return `<td><img class="px" src="${pngDataUrl(c.png)}" width="${size}" height="${size}" alt="${escapeHtml(c.alt ?? '')}"></td>`;
    };
    const head = `<tr><th></th>${opts.colTitles.map((t) => `<th>${escapeHtml(t)}</th>`).join('')}</tr>`;
    const rows = opts.rowTitles.map((t, r) => `<tr><th>${escapeHtml(t)}</th>${(opts.cells[r] ?? []).map(cell).join('')}</tr>`);
    this.blocks.push(`<div class="scroll"><table class="maps">${opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ''}<thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div>`);
    return this;
  }

  /** One embedded image (PNG bytes, or an image encoded here). */
  image(png: Uint8Array | RGBAImage, opts: ImageBlockOptions = {}): this {
    return this.figures([{ png, ...opts }]);
  }

  /** Several embedded images side by side, each with its caption. */
  figures(items: readonly FigureItem[]): this {
    const figs = items.map((it) => {
      const attrs = [`src="${pngDataUrl(it.png)}"`, `alt="${escapeHtml(it.alt ?? it.caption ?? '')}"`];
      if (it.width) attrs.push(`width="${Math.round(it.width)}"`);
      if (it.pixelated ?? true) attrs.push('class="px"');
      return `<figure><img ${attrs.join(' ')}>${it.caption ? `<figcaption>${escapeHtml(it.caption)}</figcaption>` : ''}</figure>`;
    });
    this.blocks.push(`<div class="figs">${figs.join('\n')}</div>`);
    return this;
  }

  private close(): void {
    if (this.open) this.blocks.push('</section>');
    this.open = false;
  }

  /** Whether the report has charts, so render() needs the chart library. */
  get hasCharts(): boolean {
    return this.charts > 0;
  }

  /**
   * The complete HTML document, one file with nothing to fetch. A report with charts needs the
   * chart library's source (in Node: files.ts's chartLibrary()), inlined once before the charts run.
   */
  render(opts: { chartLibrary?: ChartLibrary } = {}): string {
    if (this.charts && !opts.chartLibrary) throw new Error(`HtmlReport '${this.title}': ${this.charts} chart(s) need the chart library; pass render({ chartLibrary }) (files.ts's chartLibrary() reads d3's and Plot's in Node)`);
    const body = [...this.blocks, ...(this.open ? ['</section>'] : [])].join('\n');
    const lib = this.charts ? opts.chartLibrary! : undefined;
    const css = lib ? `\n${CHART_STYLE}` : '';
    const scripts = lib ? `\n<script>\n${inlineSafe(lib.js, 'script')}\n</script>\n<script>\n${CHART_RUNTIME}\n</script>` : '';
    return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(this.title)}</title>\n<style>\n${STYLE}${css}\n</style>\n</head>\n<body>\n<h1>${escapeHtml(this.title)}</h1>\n${body}${scripts}\n</body>\n</html>\n`;
  }
}

/** A table cell: numbers to 4 significant digits; 'not applicable: ...' and 'failed: ...' notes styled apart. */
function cellHtml(c: unknown, tag: 'td' | 'th', span: number): string {
  const text = formatCell(c);
  const cls = tag === 'td' && text.startsWith('not applicable') ? ' class="na"' : tag === 'td' && text.startsWith('failed') ? ' class="fail"' : '';
  return `<${tag}${cls}${span > 1 ? ` colspan="${span}"` : ''}>${escapeHtml(text)}</${tag}>`;
}

/** Library source to inline: refuses text that would close its element early. */
function inlineSafe(source: string, element: 'script'): string {
  if (source.toLowerCase().includes(`</${element}`)) throw new Error(`HtmlReport: the chart library's ${element} contains '</${element}', which would end the inlined element early`);
  return source;
}
