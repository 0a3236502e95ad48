/**
 * src/viz: colormaps, attribution normalisation, PNG and zlib codecs (checked against pngjs
 * and Node's zlib), grids, plots, HTML reports and files. The last test renders one example of
 * each picture to $VIZ_EXAMPLES_DIR (default <tmpdir>/viz-examples) for a person to look at.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import * as viz from '../src/viz/node.ts';
import { buildPng } from './png-chunks.ts';

/** Deterministic pseudo-random numbers in [0,1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Byte equality without vitest's slow element-by-element diffing of large arrays. */
function expectBytes(actual: ArrayLike<number>, expected: ArrayLike<number>, what = 'bytes'): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) if (actual[i] !== expected[i]) expect.fail(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
}

function randomImage(w: number, h: number, kind: 'rgba' | 'rgb' | 'grey' | 'greyalpha', seed = 1): viz.RGBAImage {
  const r = rng(seed);
  const img = viz.createImage(w, h);
  for (let i = 0; i < w * h; i++) {
    // Mix smooth areas (compressible) and noise (not).
    const smooth = (i % w) < w / 2;
    const v = () => (smooth ? (i % 7) * 30 : Math.floor(r() * 256));
    const g = v();
    img.data[i * 4] = kind.startsWith('grey') ? g : v();
    img.data[i * 4 + 1] = kind.startsWith('grey') ? g : v();
    img.data[i * 4 + 2] = kind.startsWith('grey') ? g : v();
    img.data[i * 4 + 3] = kind === 'rgba' || kind === 'greyalpha' ? Math.floor(r() * 256) : 255;
  }
  return img;
}

describe('colormaps', () => {
  const close = (a: readonly number[], b: readonly number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]!) <= tol);

  it('viridis and inferno have the published endpoints and midpoints', () => {
    // matplotlib's tables: viridis[0], [128], [255]; inferno[0], [64], [255]. The polynomial fit is within ~6/255.
    expect(close(viz.colorAt('viridis', 0), [68, 1, 84], 5)).toBe(true);
    expect(close(viz.colorAt('viridis', 128 / 255), [33, 145, 140], 3)).toBe(true);
    expect(close(viz.colorAt('viridis', 1), [253, 231, 37], 5)).toBe(true);
    expect(close(viz.colorAt('inferno', 0), [0, 0, 4], 5)).toBe(true);
    expect(close(viz.colorAt('inferno', 64 / 255), [87, 16, 110], 6)).toBe(true);
    expect(close(viz.colorAt('inferno', 1), [252, 255, 164], 5)).toBe(true);
  });

  it('sequential maps increase monotonically in CIELAB lightness', () => {
    for (const name of ['viridis', 'inferno', 'gray'] as const) {
      const tab = viz.colormapTable(name);
      const L = Array.from({ length: 256 }, (_, i) => viz.srgbToLab([tab[i * 3]! / 255, tab[i * 3 + 1]! / 255, tab[i * 3 + 2]! / 255])[0]);
      for (let i = 1; i < 256; i++) expect(L[i]!, `${name} L* at ${i}`).toBeGreaterThan(L[i - 1]! - 0.3); // rounding to bytes
      expect(L[255]! - L[0]!).toBeGreaterThan(70);
      // Perceptual uniformity, loosely: no 16-entry stretch takes more than twice its share of the lightness range.
      for (let i = 16; i < 256; i += 16) expect(L[i]! - L[i - 16]!).toBeLessThan((2 * (L[255]! - L[0]!) * 16) / 255);
    }
  });

  it('coolwarm runs from blue through neutral to red, lightness symmetric around the middle', () => {
    expect(close(viz.colorAt('coolwarm', 0), [59, 76, 192], 2)).toBe(true);
    expect(close(viz.colorAt('coolwarm', 1), [180, 4, 38], 2)).toBe(true);
    const mid = viz.srgbToLab(viz.colormapContinuous('coolwarm', 0.5));
    expect(Math.hypot(mid[1], mid[2])).toBeLessThan(1);
    expect(mid[0]).toBeGreaterThan(85);
    const lab = (t: number) => viz.srgbToLab(viz.colormapContinuous('coolwarm', t));
    for (const t of [0.1, 0.25, 0.4]) expect(Math.abs(lab(t)[0] - lab(1 - t)[0])).toBeLessThan(6);
  });

  it('applyColormap clips to [vmin, vmax] and leaves NaN transparent', () => {
    const out = viz.applyColormap([-5, 0, 0.5, 1, 9, NaN], { cmap: 'gray', vmin: 0, vmax: 1 });
    expect(Array.from(out.subarray(0, 20))).toEqual([0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(Array.from(out.subarray(20))).toEqual([0, 0, 0, 0]);
    // Default range: the values' min and max.
    const auto = viz.applyColormap([2, 4], { cmap: 'gray' });
    expect([auto[0], auto[4]]).toEqual([0, 255]);
  });

  it('Lab conversions invert each other', () => {
    for (const rgb of [[0.2, 0.5, 0.9], [1, 1, 1], [0, 0, 0], [0.9, 0.1, 0.3]]) {
      const back = viz.labToSrgb(viz.srgbToLab(rgb));
      expect(close(back, rgb, 1e-4)).toBe(true);
    }
  });
});

describe('attribution normalisation', () => {
  it('percentile interpolates between ranks like numpy', () => {
    expect(viz.percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(viz.percentile([1, 2, 3, 4, 5], 90)).toBeCloseTo(4.6, 6);
    expect(viz.percentile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(viz.percentile([1, 2, 3, 4, 5], 100)).toBe(5);
    expect(viz.percentile([7, NaN], 50)).toBe(7);
  });

  it('clips to the 99th percentile of |a| so one outlier does not wash the map out', () => {
    const a = new Float32Array(1000);
    for (let i = 0; i < 1000; i++) a[i] = (i % 100) / 100; // 0 .. 0.99
    a[0] = 1000; // outlier
    const n = viz.normalizeAttribution(a, { mode: 'absolute' });
    const p99 = viz.percentile(a.map(Math.abs), 99);
    expect(n[0]).toBe(1);
    expect(n[50]).toBeCloseTo(0.5 / p99, 5);
    expect(Math.max(...n)).toBe(1);
    // min-max instead: the outlier flattens everything else.
    const mm = viz.normalizeAttribution(a, { scaling: 'minmax' });
    expect(mm[50]).toBeLessThan(0.001);
  });

  it('signed mode is symmetric around zero; positive drops negatives; mass matches Captum', () => {
    const a = Float32Array.from([-2, -1, 0, 1, 2, 4]);
    const s = viz.normalizeAttribution(a, { mode: 'signed', scaling: 'minmax' });
    expect(Array.from(s)).toEqual([-0.5, -0.25, 0, 0.25, 0.5, 1]);
    const p = viz.normalizeAttribution(a, { mode: 'positive', scaling: 'minmax' });
    expect(Array.from(p)).toEqual([0, 0, 0, 0.25, 0.5, 1]);
    // Captum: sorted [0,1,1,2,2,4], cumsum [0,1,2,4,6,10]; 50% of 10 reached at value 2.
    expect(viz.massThreshold(a.map(Math.abs), 50)).toBe(2);
    expect(Array.from(viz.normalizeAttribution([0, 0], {}))).toEqual([0, 0]);
  });

  it('reduces [C,H,W] over channels by sum, max |a| and L2', () => {
    const m = Float32Array.from([1, -2, 3, -4, /* c1 */ 2, 2, -4, 3]); // C=2, H=1, W=4
    expect(Array.from(viz.reduceChannels(m, 2, 1, 4, 'sum'))).toEqual([3, 0, -1, -1]);
    expect(Array.from(viz.reduceChannels(m, 2, 1, 4, 'maxabs'))).toEqual([2, 2, 4, 4]);
    expect(Array.from(viz.reduceChannels(m, 2, 1, 4, 'l2'))).toEqual([Math.fround(Math.sqrt(5)), Math.fround(Math.sqrt(8)), 5, 5]);
  });

  it('attributionToImage picks the diverging map for signed maps', () => {
    const img = viz.attributionToImage([-1, 0, 1], 3, 1, { mode: 'signed', scaling: 'minmax' });
    expect(Array.from(img.data.subarray(0, 3))).toEqual(viz.colorAt('coolwarm', 0));
    expect(Array.from(img.data.subarray(8, 11))).toEqual(viz.colorAt('coolwarm', 1));
  });
});

describe('zlib and PNG', () => {
  it("encodePng's image data is a zlib stream Node reads, and decodePng reads Node's at every level", () => {
    const img = randomImage(120, 80, 'rgb', 7);
    const png = viz.encodePng(img);
    const idatLength = new DataView(png.buffer, png.byteOffset).getUint32(33);
    const scanlines = inflateSync(png.subarray(41, 41 + idatLength)); // after the signature and IHDR: IDAT's body
    expect(scanlines.length).toBe(80 * (1 + 120 * 3));
    for (const level of [0, 1, 6, 9]) {
      const ihdr = Array.from(png.subarray(16, 29));
      const recompressed = buildPng([['IHDR', ihdr], ['IDAT', Array.from(deflateSync(scanlines, { level }))], ['IEND', []]]);
      expectBytes(viz.decodePng(recompressed).data, img.data, `zlib level ${level}`);
    }
    expect(viz.encodePng(viz.createImage(1000, 1000)).length, 'a blank image compresses').toBeLessThan(5000);
  });

  it('encode then decode gives back the same pixels, for every colour type chosen', () => {
    for (const kind of ['rgba', 'rgb', 'grey', 'greyalpha'] as const) {
      const img = randomImage(37, 23, kind);
      const png = viz.encodePng(img);
      expect(png[25], kind).toBe({ grey: 0, greyalpha: 4, rgb: 2, rgba: 6 }[kind]); // IHDR colour type
      const back = viz.decodePng(png);
      expect([back.width, back.height]).toEqual([37, 23]);
      expectBytes(back.data, img.data, kind);
      // pngjs agrees.
      const ref = PNG.sync.read(Buffer.from(png));
      expectBytes(ref.data, img.data, `pngjs reading ${kind}`);
    }
  });

  it('decodes what pngjs writes: colour types 0/2/4/6, 8 and 16 bits', () => {
    const img = randomImage(19, 11, 'rgba', 3);
    for (const colorType of [0, 2, 4, 6] as const) {
      for (const bitDepth of [8, 16] as const) {
        const png = new PNG({ width: 19, height: 11, colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
        png.data = Buffer.from(img.data);
        const bytes = PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
        const ours = viz.decodePng(new Uint8Array(bytes));
        const ref = PNG.sync.read(bytes);
        expectBytes(ours.data, ref.data, `type ${colorType} depth ${bitDepth}`);
      }
    }
  });

  it('decodes palette, low bit depth and interlaced images', () => {
    // A 3x2 palette image, 2 bits per pixel, with tRNS, built by hand.
    const ihdr = [0, 0, 0, 3, 0, 0, 0, 2, 2, 3, 0, 0, 0];
    const plte = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
    const trns = [128];
    const rows = [0, 0b00011000, 0, 0b11100100]; // filter 0, indices 0 1 2 | filter 0, indices 3 2 1
    const bytes = buildPng([['IHDR', ihdr], ['PLTE', plte], ['tRNS', trns], ['IDAT', Array.from(deflateSync(Uint8Array.from(rows)))], ['IEND', []]]);
    const img = viz.decodePng(bytes);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 128, 0, 255, 0, 255, 0, 0, 255, 255, 9, 9, 9, 255, 0, 0, 255, 255, 0, 255, 0, 255]);
    // Adam7: a 5x5 8-bit greyscale image whose pixel (x, y) is 10y + x, stored pass by pass.
    const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
    const raw: number[] = [];
    for (const [x0, y0, dx, dy] of passes)
      for (let y = y0!; y < 5; y += dy!) {
        if (x0! >= 5) break;
        raw.push(0);
        for (let x = x0!; x < 5; x += dx!) raw.push(10 * y + x);
      }
    const inter = buildPng([['IHDR', [0, 0, 0, 5, 0, 0, 0, 5, 8, 0, 0, 0, 1]], ['IDAT', Array.from(deflateSync(Uint8Array.from(raw)))], ['IEND', []]]);
    const img2 = viz.decodePng(inter);
    for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) expect(img2.data[(y * 5 + x) * 4]).toBe(10 * y + x);
  });

  it('rejects corrupt files', () => {
    const png = viz.encodePng(randomImage(8, 8, 'rgb'));
    const bad = png.slice();
    bad[40] ^= 0xff;
    expect(() => viz.decodePng(bad)).toThrow(viz.PngError);
    expect(() => viz.decodePng(bad)).toThrow(/CRC|corrupt/);
    expect(() => viz.decodePng(new Uint8Array(20))).toThrow(/not a PNG/);
  });
});

describe('images, grids and text', () => {
  it('chwToImage un-normalises with mean/std and clips', () => {
    const img = viz.chwToImage([-1, 0, 1, 3], 1, 2, 2, { mean: 0.5, std: 0.5 });
    expect([img.data[0], img.data[4], img.data[8], img.data[12]]).toEqual([0, 128, 255, 255]);
    const rgb = viz.chwToImage([0, 1, 0.5, 0.5, 1, 0], 3, 1, 2);
    expect(Array.from(rgb.data)).toEqual([0, 128, 255, 255, 255, 128, 0, 255]);
  });

  it('resizes nearest and bilinear (half-pixel centres)', () => {
    const v = viz.resizeValues([0, 1, 2, 3], 2, 2, 4, 4, 'bilinear');
    expect(Array.from(v.subarray(0, 4))).toEqual([0, 0.25, 0.75, 1]);
    const img = viz.chwToImage([0, 1], 1, 1, 2);
    const big = viz.resizeImage(img, 8, 4);
    expect([big.width, big.height, big.data[3 * 4], big.data[4 * 4]]).toEqual([8, 4, 0, 255]);
  });

  it('overlay blends by alpha and by the heatmap alpha', () => {
    const base = viz.createImage(2, 1, [0, 0, 0]);
    const heat = viz.createImage(2, 1, [200, 100, 0]);
    heat.data[7] = 0; // second pixel transparent
    const o = viz.overlay(base, heat, 0.5);
    expect(Array.from(o.data)).toEqual([100, 50, 0, 255, 0, 0, 0, 255]);
  });

  it('draws mask contours and boxes', () => {
    const img = viz.createImage(10, 10, [0, 0, 0]);
    const mask = new Float32Array(25);
    for (let y = 1; y < 4; y++) for (let x = 1; x < 4; x++) mask[y * 5 + x] = 1; // 3x3 square in a 5x5 mask
    viz.drawMaskContour(img, mask, 5, 5, [255, 0, 0]);
    const red = (x: number, y: number) => img.data[(y * 10 + x) * 4] === 255;
    expect(red(2, 2) && red(7, 2) && red(2, 7) && red(4, 2)).toBe(true); // border of the upscaled 6x6 square
    expect(red(4, 4) || red(0, 0) || red(8, 8)).toBe(false); // interior and outside stay black
    viz.drawBox(img, { x: 0, y: 0, width: 10, height: 10 }, [0, 255, 0], 1);
    expect(img.data[1]).toBe(255);
    expect(img.data[(5 * 10 + 5) * 4 + 1]).toBe(0);
  });

  it('grid size follows tiles, padding, scale and labels', () => {
    const tile = viz.createImage(10, 10, [0, 0, 0]);
    const g = viz.makeGrid(Array(6).fill(tile), { cols: 3, padding: 4 });
    expect([g.width, g.height]).toEqual([3 * 10 + 4 * 4, 2 * 10 + 3 * 4]);
    const g2 = viz.makeGrid(Array(5).fill(tile), { cols: 3, padding: 2, tileScale: 2 });
    expect([g2.width, g2.height]).toEqual([3 * 20 + 4 * 2, 2 * 20 + 3 * 2]);
    const g3 = viz.makeGrid([tile, tile], { cols: 2, padding: 4, tileTitles: ['a', 'b'], rowTitles: ['row'], title: 'T' });
    expect(g3.width).toBe(viz.measureText('row').width + 4 + 2 * 10 + 3 * 4);
    expect(g3.height).toBeGreaterThan(10 + 2 * 4 + 7 + 16);
  });

  it('draws text glyphs inside the measured box', () => {
    const { width, height } = viz.measureText('Ag', 2);
    expect([width, height]).toEqual([(2 * 6 - 1) * 2, 8 * 2]);
    const img = viz.createImage(40, 30);
    viz.drawText(img, 'Ag', 5, 5, { scale: 2 });
    let minX = 99, maxX = -1, minY = 99, maxY = -1;
    for (let y = 0; y < 30; y++)
      for (let x = 0; x < 40; x++)
        if (img.data[(y * 40 + x) * 4] === 0) (minX = Math.min(minX, x)), (maxX = Math.max(maxX, x)), (minY = Math.min(minY, y)), (maxY = Math.max(maxY, y));
    expect(minX).toBe(5);
    expect(minY).toBe(5);
    expect(maxX).toBeLessThan(5 + width);
    expect(maxY).toBe(5 + height - 1); // the descender of 'g' reaches the last row
    expect(viz.fitText('a long title', 30)).toBe('a l..');
  });
});

describe('plots and reports', () => {
  const hasColor = (img: viz.RGBAImage, c: viz.Color) => {
    for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) return true;
    return false;
  };

  it('line plot PNG contains every series colour', () => {
    const img = viz.linePlot(
      [
        { name: 'train loss', y: [2.3, 1.1, 0.6, 0.4, 0.3] },
        { name: 'val loss', y: [2.2, 1.3, 0.8, 0.7, 0.7], dashed: true },
      ],
      { title: 'Loss', xLabel: 'epoch', yLabel: 'loss', logY: true, xFromOne: true },
    );
    const png = viz.encodePng(img);
    expect(png.length).toBeGreaterThan(1000);
    const back = viz.decodePng(png);
    expect(hasColor(back, viz.PALETTE[0]!)).toBe(true);
    expect(hasColor(back, viz.PALETTE[1]!)).toBe(true);
    expect(hasColor(back, viz.PALETTE[2]!)).toBe(false);
  });

  it('nice ticks and tick labels', () => {
    expect(viz.niceTicks(0, 1, 6).ticks).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
    expect(viz.formatTick(0.6000000000000001, 0.2)).toBe('0.6');
    expect(viz.formatTick(1e-4, 1e-5)).toBe('1e-4');
    expect(viz.formatTick(250, 50)).toBe('250');
  });

  it('scatter plot colours points by class', () => {
    const r = rng(5);
    const n = 300;
    const x = new Float32Array(n), y = new Float32Array(n), lab = new Int32Array(n);
    for (let i = 0; i < n; i++) (lab[i] = i % 3), (x[i] = lab[i]! * 3 + r()), (y[i] = r() - lab[i]!);
    const img = viz.scatterPlot(x, y, lab, { classNames: ['zero', 'one', 'two'], title: 'PCA' });
    for (let k = 0; k < 3; k++) expect(hasColor(img, viz.classColor(k))).toBe(true);
  });

  it('HTML report embeds images as data URLs and escapes text', () => {
    const png = viz.encodePng(viz.createImage(3, 2, [255, 0, 0]));
    const html = new viz.HtmlReport('Report <1>')
      .section('Saliency')
      .paragraph('a < b & c')
      .table([['method', 'AUC'], ['IG', 0.812345], ['grad', 1e-5]], { header: true })
      .image(png, { caption: 'red' })
      .render();
    expect(html).toContain(`src="data:image/png;base64,${viz.base64(png)}"`);
    expect(html).toContain('<title>Report &lt;1&gt;</title>');
    expect(html).toContain('<p>a &lt; b &amp; c</p>');
    expect(html).toContain('<td>0.8123</td>');
    expect(html).toContain('<th>AUC</th>');
    expect(viz.base64(Uint8Array.from([0xfb, 0xff]))).toBe(Buffer.from([0xfb, 0xff]).toString('base64'));
    expect(viz.base64(new TextEncoder().encode('glassbox!'))).toBe(Buffer.from('glassbox!').toString('base64'));
  });

  it('charts: series aligned on one x column, gaps as null, spec JSON that cannot close its script', () => {
    const spec: viz.ChartSpec = {
      title: 'a </script><!-- b',
      xLabel: 'epoch',
      yLabel: 'loss',
      y2Label: 'accuracy',
      series: [
        { name: 'train', x: [1, 2, 3], y: [0.9, 0.5, NaN] },
        { name: 'val', x: [2, 4], y: [0.6, 0.4], axis: 'right' },
      ],
    };
    expect(viz.alignedData(spec)).toEqual([[1, 2, 3, 4], [0.9, 0.5, null, null], [null, 0.6, null, 0.4]]);
    const html = viz.chartHtml(spec, viz.escapeHtml);
    const json = html.match(/<script type="application\/json" class="gb-chart-spec">(.*?)<\/script>/s)![1]!;
    expect(json).not.toMatch(/<\/|<!--/);
    expect(JSON.parse(json).spec).toMatchObject({ title: 'a </script><!-- b', xLabel: 'epoch', yLabel: 'loss', y2Label: 'accuracy', series: [{ name: 'train' }, { name: 'val', axis: 'right' }] });
    expect(() => viz.alignedData({ ...spec, series: [{ name: 'bad', x: [1], y: [1, 2] }] })).toThrow(/'bad' has 1 x values and 2 y values/);
    expect(() => viz.chartHtml({ ...spec, y2Label: undefined }, viz.escapeHtml)).toThrow(/right axis needs the chart's y2Label/);
    // the PNG twin for the CLI draws every series
    expect(viz.chartPng(spec, { width: 300, height: 200 }).width).toBe(300);
  });

  it('a report with charts inlines the library once and refuses to render without it', () => {
    const report = new viz.HtmlReport('charts').chartRow([
      { title: 'one', xLabel: 'x', yLabel: 'y', series: [{ name: 's', y: [1, 2] }] },
      { title: 'two', xLabel: 'x', yLabel: 'y', series: [{ name: 's', y: [2, 1] }] },
    ]);
    expect(() => report.render()).toThrow(/2 chart\(s\) need the chart library/);
    const lib = viz.chartLibrary();
    // d3 first, then Plot, which reads the global d3 as it loads
    expect(lib.js.indexOf('https://d3js.org')).toBeLessThan(lib.js.indexOf('@observablehq/plot'));
    const html = report.render({ chartLibrary: lib });
    expect(html.split(lib.js).length - 1).toBe(1);
    expect(html.split(viz.CHART_STYLE).length - 1).toBe(1);
    expect(html.match(/class="gb-chart"/g)).toHaveLength(2);
    expect(() => report.render({ chartLibrary: { js: 'x("</script>")' } })).toThrow(/contains '<\/script'/);
    // a report without charts carries no library
    expect(new viz.HtmlReport('plain').paragraph('p').render()).not.toContain('<script');
  });

  it('image tables: text titles, crisp scaled images, text cells, scrolling inside their box', () => {
    const png = viz.encodePng(viz.createImage(4, 4, [0, 0, 255]));
    const html = new viz.HtmlReport('maps')
      .imageTable({ colTitles: ['input', 'cam'], rowTitles: ['pred 7'], cells: [[{ png, alt: 'input' }, { text: 'not applicable' }]], size: 56 })
      .render();
    expect(html).toContain('<div class="scroll"><table class="maps">');
    expect(html).toContain(`<img class="px" src="data:image/png;base64,${viz.base64(png)}" width="56" height="56" alt="input">`);
    expect(html).toContain('<th>pred 7</th><td><img');
    expect(html).toContain('<td class="text">not applicable</td>');
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glassbox-viz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes PNG, JSON and HTML atomically into new folders', () => {
    const img = randomImage(5, 4, 'rgba');
    viz.writePng(join(dir, 'a/b/img.png'), img);
    expect(viz.readPng(join(dir, 'a/b/img.png')).data).toEqual(img.data);
    viz.writePng(join(dir, 'raw.png'), img.data, 5, 4);
    expect(viz.readPng(join(dir, 'raw.png')).data).toEqual(img.data);
    viz.writeJson(join(dir, 'c/x.json'), { acc: 0.9, curve: Float32Array.from([1, 0.5]), bad: NaN });
    const text = readFileSync(join(dir, 'c/x.json'), 'utf8');
    expect(JSON.parse(text)).toEqual({ acc: 0.9, curve: [1, 0.5], bad: null });
    expect(text).toContain('\n  "acc": 0.9');
    viz.writeHtml(join(dir, 'r.html'), '<p>x</p>');
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toBe('<p>x</p>');
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
  });
});

describe('example pictures', () => {
  it('renders a grid, an overlay, a line plot and a scatter plot', () => {
    const out = process.env.VIZ_EXAMPLES_DIR ?? join(tmpdir(), 'viz-examples');
    // A synthetic "7" on 28x28, as a model input normalised with MNIST's mean/std.
    const canvas = viz.createImage(28, 28, [0, 0, 0]);
    viz.drawLine(canvas, 7, 7, 21, 7, [255, 255, 255], 3);
    viz.drawLine(canvas, 21, 7, 12, 23, [255, 255, 255], 3);
    const [mean, std] = [0.1307, 0.3081];
    const x = new Float32Array(784).map((_, i) => (canvas.data[i * 4]! / 255 - mean) / std);
    const digit = viz.chwToImage(x, 1, 28, 28, { mean, std });
    // A fake attribution: positive along the stroke, negative to its lower left, plus noise.
    const r = rng(11);
    const attr = new Float32Array(784).map((_, i) => {
      const px = i % 28, py = Math.floor(i / 28);
      return 2 * (canvas.data[i * 4]! / 255) * Math.exp(-((px - 18) ** 2 + (py - 10) ** 2) / 60) - Math.exp(-((px - 8) ** 2 + (py - 20) ** 2) / 20) + 0.1 * (r() - 0.5);
    });
    const big = viz.upscale(digit, 4);
    const absMap = viz.resizeImage(viz.attributionToImage(attr, 28, 28, { mode: 'absolute' }), 112, 112, 'bilinear');
    const signedMap = viz.resizeImage(viz.attributionToImage(attr, 28, 28, { mode: 'signed' }), 112, 112, 'bilinear');
    const over = viz.overlay(big, absMap, 0.6);
    const boxed = viz.cloneImage(big);
    viz.drawBox(boxed, { x: 20, y: 20, width: 72, height: 80 }, [255, 200, 0], 2);
    const contour = viz.cloneImage(big);
    viz.drawMaskContour(contour, Float32Array.from(canvas.data.filter((_, i) => i % 4 === 0), (v) => v / 255), 28, 28, [0, 255, 0]);
    viz.writePng(join(out, 'overlay.png'), viz.makeGrid([big, absMap, over, signedMap, viz.overlay(big, signedMap, 0.6), contour, boxed], {
      cols: 4,
      tileTitles: ['input', '|attribution|', 'overlay', 'signed', 'signed overlay', 'mask contour', 'box'],
      title: 'Saliency of a synthetic 7',
      padding: 6,
    }));
    // Grid with row and column labels: colormaps on a ramp.
    const ramp = new Float32Array(32 * 32).map((_, i) => (i % 32) / 31);
    const cmaps = ['viridis', 'inferno', 'coolwarm', 'gray'] as const;
    const tiles = cmaps.flatMap((c) => [viz.heatmapToImage(ramp, 32, 32, { cmap: c }), viz.heatmapToImage(ramp.map((v, i) => v * (Math.floor(i / 32) / 31)), 32, 32, { cmap: c })]);
    viz.writePng(join(out, 'grid.png'), viz.makeGrid(tiles, {
      cols: 2, tileScale: 2, rowTitles: [...cmaps], colTitles: ['ramp', 'ramp x row'],
      tileTitles: cmaps.flatMap((c) => [`${c} 0..1`, `${c} (x,y)`]), title: 'Colormaps: ABC xyz 0123 (.,:;!?)',
    }));
    const epochs = 12;
    viz.writePng(join(out, 'plot.png'), viz.linePlot(
      [
        { name: 'train loss', y: Array.from({ length: epochs }, (_, e) => 2.3 * Math.exp(-e / 3) + 0.05) },
        { name: 'val loss', y: Array.from({ length: epochs }, (_, e) => 2.3 * Math.exp(-e / 3.5) + 0.12 + 0.002 * e * e), dashed: true },
        { name: 'val acc', y: Array.from({ length: epochs }, (_, e) => 1 - 0.9 * Math.exp(-e / 2)) },
      ],
      { title: 'MNIST LeNet training', xLabel: 'epoch', yLabel: 'loss / accuracy', logY: true, xFromOne: true, width: 640, height: 400 },
    ));
    viz.writePng(join(out, 'plot-deletion.png'), viz.linePlot(
      ['gradient', 'IG', 'Grad-CAM', 'random'].map((name, k) => ({ name, x: Array.from({ length: 101 }, (_, i) => i / 100), y: Array.from({ length: 101 }, (_, i) => Math.exp(-(i / 100) * [6, 10, 8, 1.5][k]!)) })),
      { title: 'Deletion curves', xLabel: 'fraction of pixels removed', yLabel: 'class probability', yRange: [0, 1] },
    ));
    const n = 900;
    const px = new Float32Array(n), py = new Float32Array(n), lab = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      lab[i] = i % 10;
      const a = (lab[i]! / 10) * 2 * Math.PI;
      px[i] = 6 * Math.cos(a) + 1.5 * (r() + r() - 1);
      py[i] = 6 * Math.sin(a) + 1.5 * (r() + r() - 1);
    }
    viz.writePng(join(out, 'scatter.png'), viz.scatterPlot(px, py, lab, {
      title: 't-SNE of conv2', xLabel: 'dim 1', yLabel: 'dim 2', classNames: ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'], width: 600, height: 460,
    }));
    for (const f of ['overlay.png', 'grid.png', 'plot.png', 'plot-deletion.png', 'scatter.png']) expect(readFileSync(join(out, f)).length).toBeGreaterThan(500);
  });
});
