/**
 * PNG encoding and decoding in plain TypeScript, with fflate (pure JavaScript) for the zlib
 * streams, so pictures can be made in a browser as well as in Node. (pngjs needs Node's zlib and
 * streams; the tests use it as the reference implementation.) fflate replaced our own DEFLATE:
 * on the report's images it compresses as fast and 9-17% smaller, and inflates 1.3-4x faster
 * (bench/png-codec.ts).
 *
 * Encoding writes 8-bit greyscale, RGB or RGBA, whichever is the smallest that loses nothing,
 * with each row's filter chosen by the usual minimum-sum-of-absolute-differences heuristic.
 * Decoding reads every standard PNG: colour types 0/2/3/4/6, bit depths 1..16, transparency
 * (tRNS) and Adam7 interlacing, always returning 8-bit RGBA. Every file, however corrupt, either
 * decodes or throws a PngError; the image size is capped (DecodeOptions.maxPixels) before
 * anything of that size is allocated, since a tiny file can claim a huge image.
 */
import { unzlibSync, zlibSync } from 'fflate';
import { asImage, type RGBAImage } from './image.ts';

/** What decodePng throws for a file it cannot read (and encodePng for an image it cannot write). */
export class PngError extends Error {
  override name = 'PngError';
}

/** Bytes from a file, printable in a message: ASCII as is, anything else as \xNN (no NUL or escape sequences reach a terminal). */
export function printableBytes(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** Default cap on decoded pixels: 4096 x 4096 (64 MiB of RGBA), far more than any model here reads. */
export const DEFAULT_MAX_PIXELS = 4096 * 4096;

export interface DecodeOptions {
  /** Largest width x height decoded (default DEFAULT_MAX_PIXELS); larger images throw before any allocation of their size. */
  maxPixels?: number;
  /** How the caller's user raises the cap, for the error message (default: the maxPixels option). */
  raiseCapHint?: string;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes an image (or RGBA bytes with their size) as PNG bytes. */
export function encodePng(img: RGBAImage): Uint8Array;
export function encodePng(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array;
export function encodePng(a: RGBAImage | Uint8Array | Uint8ClampedArray, w?: number, h?: number): Uint8Array {
  const img = 'data' in a ? a : asImage(a, w!, h!);
  const { width, height, data } = img;
  let opaque = true;
  let grey = true;
  for (let i = 0; i < data.length && (opaque || grey); i += 4) {
    if (data[i + 3] !== 255) opaque = false;
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) grey = false;
  }
  const colorType = grey ? (opaque ? 0 : 4) : opaque ? 2 : 6;
  const bpp = { 0: 1, 4: 2, 2: 3, 6: 4 }[colorType]!;
  const pick = grey ? (opaque ? [0] : [0, 3]) : opaque ? [0, 1, 2] : [0, 1, 2, 3];

  const stride = width * bpp;
  const raw = new Uint8Array(height * (stride + 1));
  let prev = new Uint8Array(stride);
  let row = new Uint8Array(stride);
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) for (let k = 0; k < bpp; k++) row[x * bpp + k] = data[(y * width + x) * 4 + pick[k]!]!;
    let best = 0;
    let bestCost = Infinity;
    for (let f = 0; f < 5; f++) {
      const c = candidates[f]!;
      let cost = 0;
      for (let i = 0; i < stride; i++) {
        const left = i >= bpp ? row[i - bpp]! : 0;
        const up = prev[i]!;
        const ul = i >= bpp ? prev[i - bpp]! : 0;
        const p = f === 0 ? 0 : f === 1 ? left : f === 2 ? up : f === 3 ? (left + up) >> 1 : paeth(left, up, ul);
        const v = (row[i]! - p) & 255;
        c[i] = v;
        cost += v < 128 ? v : 256 - v;
      }
      if (cost < bestCost) (bestCost = cost), (best = f);
    }
    raw[y * (stride + 1)] = best;
    raw.set(candidates[best]!, y * (stride + 1) + 1);
    [prev, row] = [row, prev];
  }

  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = colorType; // compression, filter method and interlace stay 0
  // level 4: as fast as our former DEFLATE on these images and 9-17% smaller (bench/png-codec.ts)
  const idat = zlibSync(raw, { level: 4 });
  const chunks: [string, Uint8Array][] = [['IHDR', ihdr], ['IDAT', idat], ['IEND', new Uint8Array(0)]];
  const out = new Uint8Array(8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0));
  out.set(SIGNATURE);
  const odv = new DataView(out.buffer);
  let o = 8;
  for (const [type, body] of chunks) {
    odv.setUint32(o, body.length);
    for (let k = 0; k < 4; k++) out[o + 4 + k] = type.charCodeAt(k);
    out.set(body, o + 8);
    odv.setUint32(o + 8 + body.length, crc32(out, o + 4, o + 8 + body.length));
    o += 12 + body.length;
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

function checkSize(width: number, height: number, opts: DecodeOptions): void {
  const cap = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (width * height > cap) {
    const how = opts.raiseCapHint ?? 'pass a larger maxPixels to decodePng';
    throw new PngError(`decodePng: the image is ${width}x${height} (${width * height} pixels), more than the cap of ${cap} pixels; ${how} if it is meant to be that large`);
  }
}

/** Decodes PNG bytes into 8-bit RGBA (16-bit samples are rounded to 8 bits). Throws PngError for anything it cannot read. */
export function decodePng(bytes: Uint8Array, opts: DecodeOptions = {}): RGBAImage {
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) throw new PngError(`decodePng: not a PNG file (it starts with '${printableBytes(bytes.subarray(0, 8))}')`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = 0;
  let interlace = 0;
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  const idat: Uint8Array[] = [];
  for (let o = 8; ; ) {
    if (o + 12 > bytes.length) throw new PngError('decodePng: truncated file (no IEND)');
    const len = dv.getUint32(o);
    const type = printableBytes(bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new PngError(`decodePng: truncated '${type}' chunk (${len} bytes claimed, ${bytes.length - o - 12} left)`);
    if (crc32(bytes, o + 4, o + 8 + len) !== dv.getUint32(o + 8 + len)) throw new PngError(`decodePng: CRC mismatch in the '${type}' chunk`);
    const body = bytes.subarray(o + 8, o + 8 + len);
    o += 12 + len;
    if (type === 'IHDR') {
      if (len !== 13) throw new PngError(`decodePng: IHDR is ${len} bytes, not 13`);
      width = dv.getUint32(body.byteOffset - bytes.byteOffset);
      height = dv.getUint32(body.byteOffset - bytes.byteOffset + 4);
      [depth, colorType] = [body[8]!, body[9]!];
      interlace = body[12]!;
      if (body[10] !== 0 || body[11] !== 0) throw new PngError(`decodePng: unknown compression method ${body[10]} or filter method ${body[11]} (PNG defines 0 only)`);
      if (interlace > 1) throw new PngError(`decodePng: unknown interlace method ${interlace}`);
      if (!(colorType in CHANNELS) || ![1, 2, 4, 8, 16].includes(depth)) throw new PngError(`decodePng: bad colour type ${colorType} / bit depth ${depth}`);
      checkSize(width, height, opts);
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
  }
  if (!width || !height) throw new PngError('decodePng: missing IHDR (or a zero width or height)');
  if (colorType === 3 && !palette) throw new PngError('decodePng: palette image without PLTE');

  const channels = CHANNELS[colorType]!;
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = interlace ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) expected += ph * (1 + Math.ceil((pw * bitsPerPixel) / 8));
  }
  const all = new Uint8Array(idat.reduce((s, d) => s + d.length, 0));
  idat.reduce((o, d) => (all.set(d, o), o + d.length), 0);
  // into a buffer of exactly the expected size: a stream that inflates to more cannot allocate more
  let raw: Uint8Array;
  try {
    raw = unzlibSync(all, { out: new Uint8Array(expected) });
  } catch (e) {
    throw new PngError(`decodePng: corrupt image data (${(e as Error).message})`);
  }
  if (raw.length < expected) throw new PngError(`decodePng: image data too short (${raw.length} bytes, ${expected} needed)`);

  const out = new Uint8Array(width * height * 4);
  const maxV = (1 << depth) - 1;
  const sample = (row: Uint8Array, x: number, c: number): number => {
    const idx = x * channels + c;
    if (depth === 8) return row[idx]!;
    if (depth === 16) return (row[idx * 2]! << 8) | row[idx * 2 + 1]!;
    const bit = idx * depth;
    return (row[bit >> 3]! >> (8 - depth - (bit & 7))) & maxV;
  };
  const to8 = (v: number): number => (depth === 16 ? Math.round(v / 257) : depth === 8 ? v : Math.round((v * 255) / maxV));
  const trnsKey = (c: number): number => (trns ? (trns[c * 2]! << 8) | trns[c * 2 + 1]! : -1);

  let off = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * bitsPerPixel) / 8);
    let prev = new Uint8Array(stride);
    for (let y = 0; y < ph; y++) {
      const filter = raw[off]!;
      const row = raw.slice(off + 1, off + 1 + stride);
      off += stride + 1;
      for (let i = 0; i < stride; i++) {
        const left = i >= bpp ? row[i - bpp]! : 0;
        const up = prev[i]!;
        const ul = i >= bpp ? prev[i - bpp]! : 0;
        const p = filter === 0 ? 0 : filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : filter === 4 ? paeth(left, up, ul) : -1;
        if (p < 0) throw new PngError(`decodePng: bad filter type ${filter}`);
        row[i] = (row[i]! + p) & 255;
      }
      prev = row;
      for (let x = 0; x < pw; x++) {
        const o = (((y0 + y * dy) * width) + x0 + x * dx) * 4;
        let r: number, g: number, b: number, a = 255;
        if (colorType === 3) {
          const k = sample(row, x, 0);
          if (k * 3 + 2 >= palette!.length) throw new PngError(`decodePng: palette index ${k} out of range (the palette has ${Math.floor(palette!.length / 3)} colours)`);
          [r, g, b] = [palette![k * 3]!, palette![k * 3 + 1]!, palette![k * 3 + 2]!];
          if (trns && k < trns.length) a = trns[k]!;
        } else if (colorType === 0 || colorType === 4) {
          const v = sample(row, x, 0);
          r = g = b = to8(v);
          if (colorType === 4) a = to8(sample(row, x, 1));
          else if (v === trnsKey(0)) a = 0;
        } else {
          const s = [sample(row, x, 0), sample(row, x, 1), sample(row, x, 2)];
          [r, g, b] = s.map(to8) as [number, number, number];
          if (colorType === 6) a = to8(sample(row, x, 3));
          else if (trns && s.every((v, c) => v === trnsKey(c))) a = 0;
        }
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
        out[o + 3] = a;
      }
    }
  }
  return { width, height, data: out };
}
