/**
 * Writing pictures and numbers to disk (Node only: node:fs). Every write is atomic (a
 * temporary file in the same folder, then a rename), so a crashed or concurrent run never
 * leaves a half-written file, and missing folders are created.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ChartLibrary } from './chart.ts';
import type { HtmlReport } from './html.ts';
import { asImage, type RGBAImage } from './image.ts';
import { decodePng, DEFAULT_MAX_PIXELS, encodePng, PngError } from './png.ts';

function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes an image (or RGBA bytes with their size) as a PNG file. */
export function writePng(path: string, img: RGBAImage): void;
export function writePng(path: string, rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): void;
export function writePng(path: string, a: RGBAImage | Uint8Array | Uint8ClampedArray, w?: number, h?: number): void {
  writeAtomic(path, encodePng('data' in a ? a : asImage(a, w!, h!)));
}

/** The pixel cap of readPng: $GLASSBOX_MAX_IMAGE_PIXELS, else decodePng's default. */
export function maxImagePixels(): number {
  const env = process.env.GLASSBOX_MAX_IMAGE_PIXELS;
  if (env === undefined || env === '') return DEFAULT_MAX_PIXELS;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n <= 0) throw new PngError(`GLASSBOX_MAX_IMAGE_PIXELS must be a positive integer, got '${env}'`);
  return n;
}

/** Reads a PNG file as 8-bit RGBA (any colour type / bit depth / interlacing); images over maxImagePixels() are refused, naming the file. */
export function readPng(path: string): RGBAImage {
  try {
    return decodePng(new Uint8Array(readFileSync(path)), { maxPixels: maxImagePixels(), raiseCapHint: 'set GLASSBOX_MAX_IMAGE_PIXELS to a larger number' });
  } catch (e) {
    if (e instanceof PngError) throw new PngError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Pretty JSON (2 spaces); typed arrays become plain arrays, non-finite numbers become null. */
export function writeJson(path: string, obj: unknown): void {
  const json = JSON.stringify(obj, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v), 2);
  writeAtomic(path, json + '\n');
}

export function writeHtml(path: string, html: string): void {
  writeAtomic(path, html);
}

/** Any text file (Markdown tables, logs), written atomically like the rest. */
export function writeText(path: string, text: string): void {
  writeAtomic(path, text);
}

let library: ChartLibrary | undefined;

/**
 * A package's browser build, as its package.json's `exports.umd` names it (d3 and Plot export it
 * under that condition only, so `require.resolve` cannot reach the file by its path).
 */
function umdBuild(pkg: string): string {
  const require = createRequire(import.meta.url);
  for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; exports?: { umd?: string } };
    if (json.name !== pkg) continue;
    if (!json.exports?.umd) throw new Error(`${manifest} names no 'umd' export; the report's charts need ${pkg}'s browser build`);
    return readFileSync(join(dir, json.exports.umd), 'utf8');
  }
  throw new Error(`cannot find ${pkg}'s package.json above ${require.resolve(pkg)}; run npm install`);
}

/** d3's and Observable Plot's browser builds from node_modules (read once), for HtmlReport.render's charts. */
export function chartLibrary(): ChartLibrary {
  library ??= { js: `${umdBuild('d3')}\n${umdBuild('@observablehq/plot')}` };
  return library;
}

/** Writes a report as one self-contained HTML file, its charts' library inlined. */
export function writeReport(path: string, report: HtmlReport): void {
  writeAtomic(path, report.render(report.hasCharts ? { chartLibrary: chartLibrary() } : {}));
}
