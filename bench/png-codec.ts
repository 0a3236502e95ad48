/**
 * The PNG codec on the report's own images (a 28x28 attribution map, a ~1000x600 grid of maps,
 * a 640x420 line plot): time of encodePng and decodePng, and the share of it spent in fflate's
 * zlib (level 4, as encodePng uses, and level 6), with the compressed sizes.
 *
 *   node scripts/run-ts.mjs bench/png-codec.ts
 *
 * Our own DEFLATE (src/viz/zlib.ts until fflate replaced it) measured on the same images:
 * compression as fast as fflate level 4 but 10-21% larger output, inflate 1.3-4x slower
 * (3 runs each on 2 shared cores, medians of 15 batches; the timings varied by up to 2x run to run).
 */
import { unzlibSync, zlibSync } from 'fflate';
import { attributionToImage, decodePng, encodePng, linePlot, makeGrid, upscale, type RGBAImage } from '../src/viz/index.ts';

function smoothMap(w: number, h: number, seed: number): Float32Array {
  return Float32Array.from({ length: w * h }, (_, i) => Math.sin((i % w) / 3 + seed) * Math.cos(Math.floor(i / w) / 4 - seed) + 0.1 * Math.sin(i * 12.9898 + seed));
}

export function reportImages(): Array<[string, RGBAImage]> {
  const map28 = attributionToImage(smoothMap(28, 28, 1), 28, 28, { mode: 'absolute' });
  const grid = makeGrid(
    Array.from({ length: 7 * 11 }, (_, k) => upscale(attributionToImage(smoothMap(28, 28, k), 28, 28, { mode: 'absolute' }), 3)),
    { cols: 11, colTitles: Array.from({ length: 11 }, (_, k) => `method ${k}`), rowTitles: Array.from({ length: 7 }, (_, k) => `pred ${k} / true ${k}`) },
  );
  const plot = linePlot(
    Array.from({ length: 6 }, (_, s) => ({ name: `method ${s}`, y: Array.from({ length: 33 }, (_, k) => Math.exp(-k / (4 + s))) })),
    { title: 'deletion', xLabel: 'fraction of pixels removed', yLabel: 'probability', width: 640, height: 420 },
  );
  return [['map 28x28', map28], [`grid ${grid.width}x${grid.height}`, grid], [`plot ${plot.width}x${plot.height}`, plot]];
}

/** The filtered scanlines encodePng compresses: its IDAT inflated back. */
function scanlines(png: Uint8Array): Uint8Array {
  const dv = new DataView(png.buffer, png.byteOffset);
  for (let o = 8; o < png.length; ) {
    const len = dv.getUint32(o);
    if (String.fromCharCode(...png.subarray(o + 4, o + 8)) === 'IDAT') return unzlibSync(png.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  throw new Error('no IDAT');
}

/** Median milliseconds per call, over 15 batches each long enough (~5 ms) for the clock. */
export function timeMs(f: () => unknown): number {
  for (let i = 0; i < 5; i++) f(); // warm up the JIT
  const t0 = performance.now();
  f();
  const perBatch = Math.max(1, Math.ceil(5 / Math.max(performance.now() - t0, 1e-3)));
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    for (let k = 0; k < perBatch; k++) f();
    times.push((performance.now() - t) / perBatch);
  }
  return times.sort((a, b) => a - b)[7]!;
}

// run as a script (run-ts names the bundle after this file), not when imported
if (process.argv[1]?.includes('png-codec')) {
  const f = (ms: number) => ms.toFixed(3);
  console.log('image             | encodePng ms | decodePng ms | zlib level 4: ms, bytes | level 6: ms, bytes | inflate ms');
  for (const [name, img] of reportImages()) {
    const png = encodePng(img);
    const raw = scanlines(png);
    const [z4, z6] = [zlibSync(raw, { level: 4 }), zlibSync(raw, { level: 6 })];
    console.log(
      `${name.padEnd(17)} | ${f(timeMs(() => encodePng(img)))} | ${f(timeMs(() => decodePng(png)))} | ${f(timeMs(() => zlibSync(raw, { level: 4 })))}, ${z4.length} | ` +
        `${f(timeMs(() => zlibSync(raw, { level: 6 })))}, ${z6.length} | ${f(timeMs(() => unzlibSync(z4, { out: new Uint8Array(raw.length) })))}`,
    );
  }
}
