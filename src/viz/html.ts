/**
 * A self-contained HTML report: headings, paragraphs, tables and PNG images embedded as
 * data: URLs, so one file can be mailed or opened offline. Build it block by block, then
 * `render()` the string (write it with files.ts's writeHtml in Node).
 *
 *   const r = new HtmlReport('Saliency on MNIST');
 *   r.section('Vanilla gradient').paragraph('...').image(png, { caption: 'digit 7' });
 *   r.table([['method', 'AUC'], ['IG', 0.81]], { header: true });
 */
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

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #ddd;padding-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-variant-numeric:tabular-nums}th,td{border:1px solid #ccc;padding:.3em .7em;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}caption{caption-side:bottom;color:#555;padding-top:.3em}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}figcaption{color:#555;font-size:.9em;text-align:center}
img.px{image-rendering:pixelated}pre{background:#f6f6f6;padding:.8em;overflow:auto}`;

export class HtmlReport {
  private readonly blocks: string[] = [];
  private open = false;

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

  /** A table from rows of cells; with `header`, the first row is the header. Numbers are shown to 4 significant digits. */
  table(rows: readonly (readonly unknown[])[], opts: { header?: boolean | readonly string[]; caption?: string } = {}): this {
    let head: readonly unknown[] | undefined;
    let body = rows;
    if (Array.isArray(opts.header)) head = opts.header;
    else if (opts.header && rows.length) [head, body] = [rows[0]!, rows.slice(1)];
    const tr = (cells: readonly unknown[], tag: 'td' | 'th'): string => `<tr>${cells.map((c) => `<${tag}>${escapeHtml(formatCell(c))}</${tag}>`).join('')}</tr>`;
    this.blocks.push(
      `<table>${opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : ''}` +
        (head ? `<thead>${tr(head, 'th')}</thead>` : '') +
        `<tbody>${body.map((r) => tr(r, 'td')).join('\n')}</tbody></table>`,
    );
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
    this.blocks.push(`<div>${figs.join('\n')}</div>`);
    return this;
  }

  private close(): void {
    if (this.open) this.blocks.push('</section>');
    this.open = false;
  }

  /** The complete HTML document. */
  render(): string {
    const body = [...this.blocks, ...(this.open ? ['</section>'] : [])].join('\n');
    return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(this.title)}</title>\n<style>\n${STYLE}\n</style>\n</head>\n<body>\n<h1>${escapeHtml(this.title)}</h1>\n${body}\n</body>\n</html>\n`;
  }
}
