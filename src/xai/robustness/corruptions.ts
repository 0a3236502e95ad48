/**
 * Common corruptions as tensor ops on the GPU: MNIST-C's 15 (Mu & Gilmer 2019) and CIFAR-10-C's 15
 * (Hendrycks & Dietterich 2019), each at severities 1-5 with the reference code's constants
 * (google-research/mnist-c corruptions.py; hendrycks/robustness make_cifar_c.py). The references
 * need scipy, scikit-image, OpenCV and ImageMagick; here every corruption is composed from the
 * engine's ops (image-ops.ts), deterministic for a seed, and severity 0 returns the input exactly.
 *
 * Where the reference cannot be reproduced without its tools, the closest honest approximation is
 * used and said in its `approximation` (README lists them): frost (no frost photographs: a rough
 * plasma-fractal ice texture), JPEG (block DCT quantisation with the IJG tables, no entropy coding,
 * bilinear chroma upsampling), glass blur (a random-offset gather instead of sequential swaps),
 * Canny (hysteresis by 4 rounds of 8-neighbour growth), Poisson noise (exact inverse CDF up to
 * lambda 20, normal approximation above), elastic (edges repeated, not mirrored).
 *
 * MNIST-C publishes one severity per corruption; its code has five for most. Four have none
 * (stripe, dotted line, zigzag, Canny edges): here their severity scales the reference corruption
 * (stripe width, number of lines, edge blend) so that one severity equals the reference, named in
 * `reference`.
 */
import * as gb from '../../index.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { withSeed } from '../baselines.ts';
import {
  aboutCentre,
  applySeparable,
  boxResize,
  diskKernel,
  displace,
  filter2d,
  gaussianBlur,
  motionBlur,
  plasmaLayer,
  Rng,
  toUint8Levels,
  warpAffine,
  zoom,
  type PixelAffine,
} from './image-ops.ts';

export type CorruptionSuite = 'mnist-c' | 'cifar-10-c';

export interface CorruptionSpec {
  name: string;
  suite: CorruptionSuite;
  /** The corruption at severity 1-5 of pixels [N, C, H, W] in [0, 1]; rng draws per-image scalars. */
  apply(x: Tensor, severity: number, rng: Rng): Tensor;
  /** Where the constants come from, and which severity is the published data set's. */
  reference: string;
  /** How this differs from the reference, if it does. */
  approximation?: string;
}

const at = <T>(list: readonly T[], severity: number): T => list[severity - 1]!;
const clip01 = (x: Tensor) => gb.clamp(x, { min: 0, max: 1 });
const perImage = <T>(x: Tensor, f: (i: number) => T): T[] => Array.from({ length: x.shape[0]! }, (_, i) => f(i));
/** A per-image scalar as an [N, 1, 1, 1] tensor, broadcasting over pixels. */
const column = (values: number[]) => gb.tensor(Float32Array.from(values), [values.length, 1, 1, 1]);

// ------------------------------------------------------------------ noise

function gaussianNoise(x: Tensor, sigma: number): Tensor {
  return clip01(gb.add(x, gb.mul(gb.randn(x.shape), sigma)));
}

/** Poisson(lambda) per pixel: exact by inverse CDF up to lambda 20 (60 terms), normal approximation above. */
function poisson(lambda: Tensor): Tensor {
  const u = gb.rand(lambda.shape);
  let p = gb.exp(gb.neg(lambda));
  let cdf = p;
  let k = gb.zerosLike(lambda);
  for (let j = 1; j <= 60; j++) {
    k = gb.add(k, gb.cast(gb.gt(u, cdf), 'float32'));
    p = gb.div(gb.mul(p, lambda), j);
    cdf = gb.add(cdf, p);
  }
  const normal = gb.clamp(gb.round(gb.add(lambda, gb.mul(gb.sqrt(lambda), gb.randn(lambda.shape)))), { min: 0 });
  return gb.where(gb.le(lambda, 20), k, normal);
}

function shotNoise(x: Tensor, photons: number): Tensor {
  return clip01(gb.div(poisson(gb.mul(x, photons)), photons));
}

/** skimage's salt & pepper: a share `amount` of the values replaced, half by 0, half by 1. */
function impulseNoise(x: Tensor, amount: number): Tensor {
  const hit = gb.lt(gb.rand(x.shape), amount);
  const salt = gb.cast(gb.lt(gb.rand(x.shape), 0.5), 'float32');
  return gb.where(hit, salt, x);
}

// ------------------------------------------------------------------ blur

/**
 * Blur, jitter, blur (the references' glass blur). Their jitter swaps each interior pixel with a
 * random neighbour at offset in [-delta, delta), one after another (with probability `swapP`);
 * here each interior pixel reads that neighbour in one gather, so a pixel may be copied twice.
 */
function glassBlur(x: Tensor, sigma: number, delta: number, iterations: number, swapP: number, rng: Rng): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  let y = gb.div(gb.floor(gb.mul(clip01(gaussianBlur(x, sigma)), 255)), 255);
  for (let it = 0; it < iterations; it++) {
    const offsets = new Float32Array(n * h * w * 2);
    for (let k = 0; k < n; k++)
      for (let r = 0; r < h; r++)
        for (let c = 0; c < w; c++) {
          const interior = r > delta && r <= h - 1 - delta && c > delta && c <= w - 1 - delta;
          const move = interior && rng.next() < swapP;
          const [dx, dy] = move ? [rng.int(-delta, delta), rng.int(-delta, delta)] : [0, 0];
          offsets.set([(2 * (c + dx) + 1) / w - 1, (2 * (r + dy) + 1) / h - 1], ((k * h + r) * w + c) * 2);
        }
    y = gb.gridSample(y, gb.tensor(offsets, [n, h, w, 2]), { mode: 'nearest', paddingMode: 'border' });
  }
  return clip01(gaussianBlur(y, sigma));
}

function defocusBlur(x: Tensor, radius: number, aliasBlur: number): Tensor {
  const { taps, size } = diskKernel(radius, aliasBlur);
  return clip01(filter2d(x, taps, size, size, 'reflect101'));
}

function zoomBlur(x: Tensor, factors: readonly number[]): Tensor {
  let sum = x;
  for (const f of factors) sum = gb.add(sum, zoom(x, f));
  return clip01(gb.div(sum, factors.length + 1));
}

/** numpy's arange(1, end, step) (the zoom factors of zoom blur). */
const arange = (end: number, step: number) => Array.from({ length: Math.ceil((end - 1) / step - 1e-9) }, (_, i) => 1 + i * step);

// ------------------------------------------------------------------ geometry (MNIST-C)

/** skimage AffineTransform(shear=s): [[1, -sin s], [0, cos s]], applied about the centre. */
const shearMap = (s: number, h: number, w: number) => aboutCentre([1, -Math.sin(s), 0, Math.cos(s)], h, w);
const rotateMap = (t: number, h: number, w: number) => aboutCentre([Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)], h, w);

/** Output pixel p reads the input at p + (dx, dy) (skimage's warp with a translation), zero outside. */
export function translatePixels(x: Tensor, dx: readonly number[], dy: readonly number[]): Tensor {
  // whole-pixel shifts: nearest sampling makes them exact copies
  return warpAffine(x, perImage(x, (i): PixelAffine => ({ a: [1, 0, 0, 1], b: [dx[i]!, dy[i]!] })), { mode: 'nearest' });
}

// ------------------------------------------------------------------ lines (MNIST-C)

interface Segment {
  c0: number;
  r0: number;
  c1: number;
  r1: number;
}

/**
 * MNIST-C's line_from_points for one segment per image, as an [N, 1, H, W] intensity: 1 on the
 * line, log(1 - d / 2.3) + 1 at distance d (vertical) from it, zero left of floor(c0) and from ceil(c1) on.
 */
function lineLayer(h: number, w: number, segments: readonly Segment[]): Tensor {
  const cc = gb.reshape(gb.arange(w), [1, 1, 1, w]);
  const rr = gb.reshape(gb.arange(h), [1, 1, h, 1]);
  const flat = segments.map((s) => s.c1 === s.c0);
  const slope = column(segments.map((s, i) => (flat[i] ? 0 : (s.r1 - s.r0) / (s.c1 - s.c0))));
  const dist = gb.clamp(gb.abs(gb.sub(rr, gb.add(gb.mul(slope, gb.sub(cc, column(segments.map((s) => s.c0)))), column(segments.map((s) => s.r0))))), { min: 0, max: 2.3 - 1e-6 });
  const line = clip01(gb.add(gb.log(gb.sub(1, gb.div(dist, 2.3))), 1));
  const inside = gb.mul(gb.cast(gb.ge(cc, column(segments.map((s) => Math.floor(s.c0)))), 'float32'), gb.cast(gb.lt(cc, column(segments.map((s) => Math.ceil(s.c1)))), 'float32'));
  return gb.mul(gb.mul(line, inside), column(flat.map((f) => (f ? 0 : 1))));
}

/** `lines` dotted lines across each image: 2-pixel dashes, every other 2 columns dark (severity 1 is MNIST-C's one line). */
function dottedLines(x: Tensor, lines: number, rng: Rng): Tensor {
  const [, , h, w] = x.shape as [number, number, number, number];
  const dashes = gb.reshape(gb.tensor(Float32Array.from({ length: w }, (_, c) => (Math.floor(c / 2) % 2 === 1 ? 1 : 0)), [w]), [1, 1, 1, w]);
  let y = x;
  for (let l = 0; l < lines; l++) {
    const layer = lineLayer(h, w, perImage(x, () => ({ c0: 0, r0: rng.int(0, h - 1), c1: w - 1, r1: rng.int(0, h - 1) })));
    y = clip01(gb.add(y, gb.mul(layer, dashes)));
  }
  return y;
}

/** The end points of MNIST-C's zigzag (2-pixel legs of amplitude 2 along a random line), in image coordinates. */
function zigzagPoints(rng: Rng, h: number, w: number): [number, number][] {
  const [a, b] = [2, 2];
  const [c0, c1] = [2, Math.round(((w - 1) * 25) / 27)];
  const r0 = rng.int(0, h - 1);
  const r1 = r0 + rng.int(-5, 5);
  const theta = Math.atan((r1 - r0) / (c1 - c0));
  const d = (c1 - c0) / Math.cos(theta);
  const points: [number, number][] = [[0, 0]];
  let ri = 0;
  for (let i = 0; i <= Math.floor((d - a) / (2 * a)); i++) {
    ri = (-1) ** i * b;
    points.push([(2 * i + 1) * a, ri]);
  }
  const maxC = 2 * a * Math.floor(d / (2 * a));
  if (d !== maxC) points.push([d, ri / (2 * (d - maxC))]);
  return points.map(([c, r]) => [c * Math.cos(theta) - r * Math.sin(theta) + c0, c * Math.sin(theta) + r * Math.cos(theta) + r0]);
}

/** `count` zigzags per image (severity 1 is MNIST-C's one). */
function zigzags(x: Tensor, count: number, rng: Rng): Tensor {
  const [, , h, w] = x.shape as [number, number, number, number];
  let y = x;
  for (let z = 0; z < count; z++) {
    const paths = perImage(x, () => zigzagPoints(rng, h, w));
    const legs = Math.max(...paths.map((p) => p.length - 1));
    for (let leg = 0; leg < legs; leg++) {
      // images with fewer legs get an empty segment (c0 == c1 draws nothing, as in the reference)
      const segments = paths.map((p) => (leg + 1 < p.length ? { c0: p[leg]![0], r0: p[leg]![1], c1: p[leg + 1]![0], r1: p[leg + 1]![1] } : { c0: 0, r0: 0, c1: 0, r1: 0 }));
      y = clip01(gb.add(y, lineLayer(h, w, segments)));
    }
  }
  return y;
}

/** MNIST-C's stripe: the values of the outer columns inverted; `width` columns each side (7 of 28 is MNIST-C's). */
function stripe(x: Tensor, width: number): Tensor {
  const w = x.shape[3]!;
  const outer = gb.reshape(gb.tensor(Float32Array.from({ length: w }, (_, c) => (c < width || c >= w - width ? 1 : 0)), [w]), [1, 1, 1, w]);
  return gb.where(gb.gt(outer, 0.5), gb.sub(1, x), x);
}

/**
 * skimage.feature.canny (sigma 1, thresholds 0.1 and 0.2 on the Sobel magnitude of a [0, 1] image):
 * Gaussian, Sobel, non-maximum suppression across the edge (4 directions), double threshold; the
 * hysteresis (weak pixels connected to strong ones) is 4 rounds of 8-neighbour growth.
 */
export function cannyEdges(x: Tensor): Tensor {
  const smooth = gaussianBlur(x, 1, { mode: 'zeros' });
  const gx = filter2d(smooth, [-1, 0, 1, -2, 0, 2, -1, 0, 1], 3, 3, 'replicate');
  const gy = filter2d(smooth, [-1, -2, -1, 0, 0, 0, 1, 2, 1], 3, 3, 'replicate');
  const mag = gb.sqrt(gb.add(gb.square(gx), gb.square(gy)));
  // direction bins: 0 horizontal gradient, 1 diagonal, 2 vertical, 3 anti-diagonal
  const angle = gb.atan2(gy, gx);
  const folded = gb.add(angle, gb.mul(gb.cast(gb.lt(angle, 0), 'float32'), Math.PI)); // [0, pi]
  const rounded = gb.round(gb.div(folded, Math.PI / 4));
  const sector = gb.where(gb.ge(rounded, 4), gb.sub(rounded, 4), rounded);
  const padded = gb.pad(mag, [1, 1, 1, 1]);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const shifted = (dy: number, dx: number) => gb.slice(gb.slice(padded, 2, { start: 1 + dy, end: 1 + dy + h }), 3, { start: 1 + dx, end: 1 + dx + w });
  const neighbours: [number, number][] = [
    [0, 1],
    [1, 1],
    [1, 0],
    [1, -1],
  ];
  let keep = gb.zerosLike(mag);
  neighbours.forEach(([dy, dx], s) => {
    const isMax = gb.mul(gb.cast(gb.ge(mag, shifted(dy, dx)), 'float32'), gb.cast(gb.ge(mag, shifted(-dy, -dx)), 'float32'));
    keep = gb.add(keep, gb.mul(isMax, gb.cast(gb.eq(sector, s), 'float32')));
  });
  const nms = gb.mul(mag, keep);
  const weak = gb.cast(gb.ge(nms, 0.1), 'float32');
  let edges = gb.cast(gb.ge(nms, 0.2), 'float32');
  for (let round = 0; round < 4; round++) edges = gb.mul(gb.maxPool2d(edges, { kernelSize: 3, stride: 1, padding: 1 }), weak);
  return edges;
}

/** MNIST-C's mud spatter: a thresholded, blurred Gaussian layer that darkens to grey 63/255. */
function mudSpatter(x: Tensor, c: readonly number[]): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  let liquid = gaussianBlur(gb.normal([n, 1, h, w], c[0]!, c[1]!), c[2]!);
  liquid = gb.mul(liquid, gb.cast(gb.ge(liquid, c[3]!), 'float32'));
  let m = gaussianBlur(gb.cast(gb.gt(liquid, c[3]!), 'float32'), c[4]!);
  m = gb.mul(m, gb.cast(gb.ge(m, 0.8), 'float32'));
  return clip01(gb.add(gb.mul(x, gb.sub(1, m)), gb.mul(m, 63 / 255)));
}

// ------------------------------------------------------------------ weather, colour, digital

/** The references' fog: plasma fractal added, then rescaled by max / (max + strength) per image. */
function fog(x: Tensor, strength: number, decay: number, mapsize: number, rng: Rng): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const maxVal = gb.amax(x, { dim: [1, 2, 3], keepdim: true });
  const fogged = gb.add(x, gb.mul(plasmaLayer(rng, n, h, w, mapsize, decay), strength));
  return clip01(gb.div(gb.mul(fogged, maxVal), gb.add(maxVal, strength)));
}

/**
 * Frost: the reference blends crops of six frost photographs (c0 x + c1 frost). They are not here,
 * so the frost layer is a rough plasma fractal (decay 1.3: much fine detail, like ice crystals),
 * brightened to the photographs' light grey-blue range.
 */
function frost(x: Tensor, c: readonly [number, number], rng: Rng): Tensor {
  const [n, ch, h, w] = x.shape as [number, number, number, number];
  const texture = gb.add(0.35, gb.mul(plasmaLayer(rng, n, h, w, 32, 1.3), 0.65));
  const tint = ch === 3 ? gb.reshape(gb.tensor([0.85, 0.93, 1]), [1, 3, 1, 1]) : 1;
  return clip01(gb.add(gb.mul(x, c[0]), gb.mul(gb.mul(texture, tint), c[1])));
}

const grey = (x: Tensor) => (x.shape[1] === 3 ? gb.sum(gb.mul(x, gb.reshape(gb.tensor([0.299, 0.587, 0.114]), [1, 3, 1, 1])), { dim: 1, keepdim: true }) : x);

/** CIFAR-10-C's snow: a zoomed, thresholded, motion-blurred noise layer (and its 180-degree turn) over a brightened image. */
function snow(x: Tensor, c: readonly number[], rng: Rng): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  let layer = zoom(gb.normal([n, 1, h, w], c[0]!, c[1]!), c[2]!);
  layer = toUint8Levels(gb.mul(layer, gb.cast(gb.ge(layer, c[3]!), 'float32')));
  layer = motionBlur(layer, c[4]!, c[5]!, perImage(x, () => rng.uniform(-135, -45)));
  const bright = gb.add(gb.mul(x, c[6]!), gb.mul(gb.maximum(x, gb.add(gb.mul(grey(x), 1.5), 0.5)), 1 - c[6]!));
  return clip01(gb.add(gb.add(bright, layer), gb.flip(layer, [2, 3])));
}

/**
 * Brightness as skimage's HSV round trip with V raised by c: with hue and saturation fixed, RGB
 * is proportional to V, so each pixel scales by min(V + c, 1) / V (black becomes grey V + c).
 */
function brightness(x: Tensor, c: number): Tensor {
  const v = gb.amax(x, { dim: 1, keepdim: true });
  const raised = gb.clamp(gb.add(v, c), { max: 1 });
  return clip01(gb.where(gb.gt(v, 0), gb.div(gb.mul(x, raised), gb.maximum(v, 1e-12)), raised));
}

function contrast(x: Tensor, c: number): Tensor {
  const means = gb.mean(x, { dim: [2, 3], keepdim: true });
  return clip01(gb.add(gb.mul(gb.sub(x, means), c), means));
}

/**
 * CIFAR-10-C's elastic transform: a random affine (three points moved by up to c2 pixels), then a
 * displacement field of uniform noise blurred by sigma c1 (truncate 3) times c0, bilinear. The
 * reference mirrors at the edges (reflect); gridSample repeats the edge pixel instead.
 */
function elastic(x: Tensor, c: readonly [number, number, number], rng: Rng): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const centre = [Math.floor(w / 2), Math.floor(h / 2)];
  const s = Math.floor(Math.min(h, w) / 3);
  const src = [
    [centre[0]! + s, centre[1]! + s],
    [centre[0]! + s, centre[1]! - s],
    [centre[0]! - s, centre[1]! - s],
  ];
  const maps = perImage(x, (): PixelAffine => {
    // cv2 works in (row, col) order for these points in the reference; a random affine either way
    const dst = src.map(([px, py]) => [px! + rng.uniform(-c[2], c[2]), py! + rng.uniform(-c[2], c[2])]);
    return inverseAffineFromPoints(src, dst);
  });
  const warped = warpAffine(x, maps, { padding: 'border' });
  if (c[0] === 0) return clip01(warped);
  const field = () => gb.mul(gaussianBlur(gb.uniform([n, 1, h, w], -1, 1), c[1], { truncate: 3 }), c[0]);
  return clip01(displace(warped, field(), field()));
}

/** The map p -> M^-1 p for the affine M taking the three points src to dst (output reads input at M^-1 p). */
function inverseAffineFromPoints(src: number[][], dst: number[][]): PixelAffine {
  // M (x, y, 1) = dst: solve per output coordinate with Cramer's rule on [[x, y, 1]] rows
  const det3 = (m: number[][]) => m[0]![0]! * (m[1]![1]! * m[2]![2]! - m[1]![2]! * m[2]![1]!) - m[0]![1]! * (m[1]![0]! * m[2]![2]! - m[1]![2]! * m[2]![0]!) + m[0]![2]! * (m[1]![0]! * m[2]![1]! - m[1]![1]! * m[2]![0]!);
  const rows = src.map(([px, py]) => [px!, py!, 1]);
  const d = det3(rows);
  const solve = (rhs: number[]) => [0, 1, 2].map((k) => det3(rows.map((r, i) => r.map((v, j) => (j === k ? rhs[i]! : v)))) / d);
  const [a, b, tx] = solve(dst.map((p) => p[0]!)) as [number, number, number];
  const [c, e, ty] = solve(dst.map((p) => p[1]!)) as [number, number, number];
  const det = a * e - b * c;
  const inv: [number, number, number, number] = [e / det, -b / det, -c / det, a / det];
  return { a: inv, b: [-(inv[0] * tx + inv[1] * ty), -(inv[2] * tx + inv[3] * ty)] };
}

function pixelate(x: Tensor, c: number): Tensor {
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  return toUint8Levels(boxResize(boxResize(x, Math.floor(h * c), Math.floor(w * c)), h, w));
}

const LUMA_TABLE = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const CHROMA_TABLE = Array.from({ length: 64 }, (_, i) => {
  const [r, c] = [Math.floor(i / 8), i % 8];
  const top = [17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 99, 47, 66, 99, 99];
  return r < 4 && c < 4 ? top[r * 4 + c]! : 99;
});

/** The IJG quality scaling of a quantisation table. */
const scaledTable = (table: number[], quality: number) => {
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  return table.map((t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
};

const DCT = (() => {
  const d = new Float32Array(64);
  for (let k = 0; k < 8; k++) for (let i = 0; i < 8; i++) d[k * 8 + i] = (k === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * i + 1) * k * Math.PI) / 16);
  return d;
})();

/** blockdiag(D, ..., D) of size n (a multiple of 8): the 8 x 8 DCT of every block along an axis. */
function blockDct(n: number): Tensor {
  const m = new Float32Array(n * n);
  for (let b = 0; b < n; b += 8) for (let k = 0; k < 8; k++) for (let i = 0; i < 8; i++) m[(b + k) * n + b + i] = DCT[k * 8 + i]!;
  return gb.tensor(m, [n, n]);
}

/** One plane [N, 1, H, W] (H, W multiples of 8, level-shifted 0-255 values) through block DCT, quantisation and inverse DCT. */
function quantisePlane(plane: Tensor, table: number[]): Tensor {
  const [h, w] = [plane.shape[2]!, plane.shape[3]!];
  const [dh, dw] = [blockDct(h), blockDct(w)];
  const tiled = gb.tensor(Float32Array.from({ length: h * w }, (_, i) => table[(Math.floor(i / w) % 8) * 8 + ((i % w) % 8)]!), [h, w]);
  const coef = applySeparable(plane, dh, dw);
  return applySeparable(gb.mul(gb.round(gb.div(coef, tiled)), tiled), gb.transpose(dh, 0, 1), gb.transpose(dw, 0, 1));
}

/**
 * JPEG at a quality (PIL's defaults: YCbCr, 4:2:0 chroma, IJG tables): the lossy steps only
 * (colour transform, chroma averaging, block DCT quantisation). Entropy coding is lossless and
 * left out; the chroma is upsampled bilinearly rather than by libjpeg's fancy upsampling.
 */
function jpeg(x: Tensor, quality: number): Tensor {
  const [, ch, h, w] = x.shape as [number, number, number, number];
  const [ph, pw] = [Math.ceil(h / 16) * 16, Math.ceil(w / 16) * 16];
  const padded = gb.mul(gb.pad(x, [0, pw - w, 0, ph - h]), 255);
  const luma = scaledTable(LUMA_TABLE, quality);
  let out: Tensor;
  if (ch === 1) out = gb.add(quantisePlane(gb.sub(padded, 128), luma), 128);
  else {
    const mix = (k: number[]) => gb.sum(gb.mul(padded, gb.reshape(gb.tensor(k), [1, 3, 1, 1])), { dim: 1, keepdim: true });
    const y = mix([0.299, 0.587, 0.114]);
    const chroma = (k: number[]) => {
      const small = gb.avgPool2d(mix(k), { kernelSize: 2, stride: 2 });
      const q = quantisePlane(gb.sub(gb.pad(small, [0, (pw / 2) % 8 === 0 ? 0 : 8 - ((pw / 2) % 8), 0, (ph / 2) % 8 === 0 ? 0 : 8 - ((ph / 2) % 8)]), 0), scaledTable(CHROMA_TABLE, quality));
      const cropped = gb.slice(gb.slice(q, 2, { start: 0, end: ph / 2 }), 3, { start: 0, end: pw / 2 });
      return gb.interpolate(cropped, { size: [ph, pw], mode: 'bilinear', alignCorners: false });
    };
    const yq = gb.add(quantisePlane(gb.sub(y, 128), luma), 128);
    const cb = chroma([-0.168736, -0.331264, 0.5]);
    const cr = chroma([0.5, -0.418688, -0.081312]);
    out = gb.cat([gb.add(yq, gb.mul(cr, 1.402)), gb.sub(gb.sub(yq, gb.mul(cb, 0.344136)), gb.mul(cr, 0.714136)), gb.add(yq, gb.mul(cb, 1.772))], 1);
  }
  return toUint8Levels(gb.div(gb.slice(gb.slice(out, 2, { start: 0, end: h }), 3, { start: 0, end: w }), 255));
}

// ------------------------------------------------------------------ the two suites

const MNIST_C = 'google-research/mnist-c corruptions.py';
const CIFAR_C = 'hendrycks/robustness make_cifar_c.py';

const mnistC: CorruptionSpec[] = ([
  { name: 'shot_noise', reference: `${MNIST_C} (photons [60, 25, 12, 5, 3]; MNIST-C uses 5)`, apply: (x, s) => shotNoise(x, at([60, 25, 12, 5, 3], s)), approximation: 'Poisson by inverse CDF up to lambda 20, normal approximation above' },
  { name: 'impulse_noise', reference: `${MNIST_C} (amount [.03, .06, .09, .17, .27]; MNIST-C uses 4)`, apply: (x, s) => impulseNoise(x, at([0.03, 0.06, 0.09, 0.17, 0.27], s)) },
  {
    name: 'glass_blur',
    reference: `${MNIST_C} ((sigma, delta, iterations) [(.7,1,2), (.9,2,1), (1,2,3), (1.1,3,2), (1.5,4,2)], swap probability 0.5; MNIST-C uses 1)`,
    apply: (x, s, rng) => {
      const [sigma, delta, it] = at([[0.7, 1, 2], [0.9, 2, 1], [1, 2, 3], [1.1, 3, 2], [1.5, 4, 2]], s) as [number, number, number];
      return glassBlur(x, sigma, delta, it, 0.5, rng);
    },
    approximation: 'the sequential pixel swaps are one random-offset gather per iteration',
  },
  {
    name: 'motion_blur',
    reference: `${MNIST_C} ((radius, sigma) [(10,3), (15,5), (15,8), (15,12), (20,15)], angle U(-45, 45); MNIST-C uses 1)`,
    apply: (x, s, rng) => {
      const [r, sigma] = at([[10, 3], [15, 5], [15, 8], [15, 12], [20, 15]], s) as [number, number];
      return motionBlur(x, r, sigma, perImage(x, () => rng.uniform(-45, 45)));
    },
    approximation: "ImageMagick's kernel with whole-pixel taps; edge pixels repeated",
  },
  { name: 'shear', reference: `${MNIST_C} (shear [.2, .4, .6, .8, 1] rad, random sign; MNIST-C uses 2)`, apply: (x, s, rng) => warpAffine(x, perImage(x, () => shearMap(rng.sign() * at([0.2, 0.4, 0.6, 0.8, 1], s), x.shape[2]!, x.shape[3]!))) },
  { name: 'scale', reference: `${MNIST_C} (sampling scale 1/[.9, .8, .7, .6, .5]: the digit shrinks; MNIST-C uses 3)`, apply: (x, s) => warpAffine(x, perImage(x, () => aboutCentre([1 / at([0.9, 0.8, 0.7, 0.6, 0.5], s), 0, 0, 1 / at([0.9, 0.8, 0.7, 0.6, 0.5], s)], x.shape[2]!, x.shape[3]!))) },
  { name: 'rotate', reference: `${MNIST_C} (angle [.2, .4, .6, .8, 1] rad, random sign; MNIST-C uses 2)`, apply: (x, s, rng) => warpAffine(x, perImage(x, () => rotateMap(rng.sign() * at([0.2, 0.4, 0.6, 0.8, 1], s), x.shape[2]!, x.shape[3]!))) },
  { name: 'brightness', reference: `${MNIST_C} (V + [.1, .2, .3, .4, .5]; MNIST-C uses 5)`, apply: (x, s) => brightness(x, at([0.1, 0.2, 0.3, 0.4, 0.5], s)) },
  {
    name: 'translate',
    reference: `${MNIST_C} (shift [1, 2, 3, 4, 5] px in x and y, random signs; MNIST-C uses 3)`,
    apply: (x, s, rng) => {
      const k = at([1, 2, 3, 4, 5], s);
      const signs = perImage(x, () => [rng.sign(), rng.sign()]);
      return translatePixels(x, signs.map(([sx]) => k * sx!), signs.map(([, sy]) => k * sy!));
    },
  },
  { name: 'stripe', reference: `${MNIST_C} (outer 7 of 28 columns inverted; one level there: severity 5 here, width W/20 per severity)`, apply: (x, s) => stripe(x, Math.round((s * x.shape[3]!) / 20)) },
  { name: 'fog', reference: `${MNIST_C} ((strength, decay) [(1.5,2), (2,2), (2.5,1.7), (2.5,1.5), (3,1.4)], 256 map; MNIST-C uses 5)`, apply: (x, s, rng) => fog(x, ...(at([[1.5, 2], [2, 2], [2.5, 1.7], [2.5, 1.5], [3, 1.4]], s) as [number, number]), 256, rng) },
  { name: 'spatter', reference: `${MNIST_C} ([(.65,.3,4,.69,.6), (.65,.3,3,.68,.6), (.65,.3,2,.68,.5), (.65,.3,1,.65,1.5), (.67,.4,1,.65,1.5)]; MNIST-C uses 4)`, apply: (x, s) => mudSpatter(x, at([[0.65, 0.3, 4, 0.69, 0.6], [0.65, 0.3, 3, 0.68, 0.6], [0.65, 0.3, 2, 0.68, 0.5], [0.65, 0.3, 1, 0.65, 1.5], [0.67, 0.4, 1, 0.65, 1.5]], s)) },
  { name: 'dotted_line', reference: `${MNIST_C} (one line there: severity 1 here, s lines at severity s)`, apply: (x, s, rng) => dottedLines(x, s, rng) },
  { name: 'zigzag', reference: `${MNIST_C} (one zigzag there: severity 1 here, s zigzags at severity s)`, apply: (x, s, rng) => zigzags(x, s, rng) },
  {
    name: 'canny_edges',
    reference: `${MNIST_C} (edges only there: severity 5 here; severity s blends s/5 of the edge map into the image)`,
    apply: (x, s) => gb.add(gb.mul(x, 1 - s / 5), gb.mul(cannyEdges(x), s / 5)),
    approximation: 'hysteresis by 4 rounds of 8-neighbour growth',
  },
] satisfies Omit<CorruptionSpec, 'suite'>[]).map((c) => ({ ...c, suite: 'mnist-c' as const }));

const cifarC: CorruptionSpec[] = ([
  { name: 'gaussian_noise', reference: `${CIFAR_C} (sigma [.04, .06, .08, .09, .10])`, apply: (x, s) => gaussianNoise(x, at([0.04, 0.06, 0.08, 0.09, 0.1], s)) },
  { name: 'shot_noise', reference: `${CIFAR_C} (photons [500, 250, 100, 75, 50])`, apply: (x, s) => shotNoise(x, at([500, 250, 100, 75, 50], s)), approximation: 'Poisson by inverse CDF up to lambda 20, normal approximation above' },
  { name: 'impulse_noise', reference: `${CIFAR_C} (amount [.01, .02, .03, .05, .07])`, apply: (x, s) => impulseNoise(x, at([0.01, 0.02, 0.03, 0.05, 0.07], s)) },
  { name: 'defocus_blur', reference: `${CIFAR_C} ((radius, alias) [(.3,.4), (.4,.5), (.5,.6), (1,.2), (1.5,.1)])`, apply: (x, s) => defocusBlur(x, ...(at([[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]], s) as [number, number])) },
  {
    name: 'glass_blur',
    reference: `${CIFAR_C} ((sigma, delta, iterations) [(.05,1,1), (.25,1,1), (.4,1,1), (.25,1,2), (.4,1,2)])`,
    apply: (x, s, rng) => {
      const [sigma, delta, it] = at([[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]], s) as [number, number, number];
      return glassBlur(x, sigma, delta, it, 1, rng);
    },
    approximation: 'the sequential pixel swaps are one random-offset gather per iteration',
  },
  {
    name: 'motion_blur',
    reference: `${CIFAR_C} ((radius, sigma) [(6,1), (6,1.5), (6,2), (8,2), (9,2.5)], angle U(-45, 45))`,
    apply: (x, s, rng) => motionBlur(x, ...(at([[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]], s) as [number, number]), perImage(x, () => rng.uniform(-45, 45))),
    approximation: "ImageMagick's kernel with whole-pixel taps; edge pixels repeated",
  },
  { name: 'zoom_blur', reference: `${CIFAR_C} (zooms arange(1, [1.06, 1.11, 1.16, 1.21, 1.26], .01))`, apply: (x, s) => zoomBlur(x, arange(at([1.06, 1.11, 1.16, 1.21, 1.26], s), 0.01)) },
  {
    name: 'snow',
    reference: `${CIFAR_C} ([(.1,.2,1,.6,8,3,.95), (.1,.2,1,.5,10,4,.9), (.15,.3,1.75,.55,10,4,.9), (.25,.3,2.25,.6,12,6,.85), (.3,.3,1.25,.65,14,12,.8)])`,
    apply: (x, s, rng) => snow(x, at([[0.1, 0.2, 1, 0.6, 8, 3, 0.95], [0.1, 0.2, 1, 0.5, 10, 4, 0.9], [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9], [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85], [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8]], s), rng),
  },
  { name: 'frost', reference: `${CIFAR_C} ((image, frost) weights [(1,.2), (1,.3), (.9,.4), (.85,.4), (.75,.45)])`, apply: (x, s, rng) => frost(x, at([[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]], s) as [number, number], rng), approximation: 'no frost photographs: a rough plasma-fractal texture in their place' },
  { name: 'fog', reference: `${CIFAR_C} ((strength, decay) [(.2,3), (.5,3), (.75,2.5), (1,2), (1.5,1.75)], 32 map)`, apply: (x, s, rng) => fog(x, ...(at([[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]], s) as [number, number]), 32, rng) },
  { name: 'brightness', reference: `${CIFAR_C} (V + [.05, .1, .15, .2, .3])`, apply: (x, s) => brightness(x, at([0.05, 0.1, 0.15, 0.2, 0.3], s)) },
  { name: 'contrast', reference: `${CIFAR_C} (factor [.75, .5, .4, .3, .15])`, apply: (x, s) => contrast(x, at([0.75, 0.5, 0.4, 0.3, 0.15], s)) },
  {
    name: 'elastic_transform',
    reference: `${CIFAR_C} ((alpha, sigma, affine) x 32 [(0,0,.08), (.05,.2,.07), (.08,.06,.06), (.1,.04,.05), (.1,.03,.03)])`,
    apply: (x, s, rng) => {
      const size = x.shape[3]!;
      const c = at([[0, 0, 0.08], [0.05, 0.2, 0.07], [0.08, 0.06, 0.06], [0.1, 0.04, 0.05], [0.1, 0.03, 0.03]], s).map((v) => v * size) as [number, number, number];
      return elastic(x, c, rng);
    },
    approximation: 'edges repeated where the reference mirrors them',
  },
  { name: 'pixelate', reference: `${CIFAR_C} (BOX down to [.95, .9, .85, .75, .65] of the size and back)`, apply: (x, s) => pixelate(x, at([0.95, 0.9, 0.85, 0.75, 0.65], s)) },
  { name: 'jpeg_compression', reference: `${CIFAR_C} (quality [80, 65, 58, 50, 40])`, apply: (x, s) => jpeg(x, at([80, 65, 58, 50, 40], s)), approximation: 'DCT quantisation with the IJG tables, 4:2:0 chroma; no entropy coding (lossless), bilinear chroma upsampling' },
] satisfies Omit<CorruptionSpec, 'suite'>[]).map((c) => ({ ...c, suite: 'cifar-10-c' as const }));

export const CORRUPTIONS: Readonly<Record<CorruptionSuite, readonly CorruptionSpec[]>> = { 'mnist-c': mnistC, 'cifar-10-c': cifarC };

/** The suite whose constants fit a data set: MNIST-C for the 28 x 28 greyscale sets, CIFAR-10-C otherwise. */
export function suiteFor(dataset: string): CorruptionSuite {
  return dataset.startsWith('mnist') || dataset.startsWith('fashion') ? 'mnist-c' : 'cifar-10-c';
}

export function corruptionSpec(name: string, suite: CorruptionSuite): CorruptionSpec {
  const spec = CORRUPTIONS[suite].find((c) => c.name === name);
  if (!spec) throw new Error(`glassbox.corrupt: unknown corruption '${name}' in ${suite}; known: ${CORRUPTIONS[suite].map((c) => c.name).join(', ')}`);
  return spec;
}

/**
 * Corrupts pixels [N, C, H, W] in [0, 1] with `name` of `suite` at `severity` 0-5 (0 returns an
 * exact copy), reproducibly for `seed`: the GPU generator and the per-image scalars are both
 * seeded from it, and the engine's generator state is restored afterwards.
 */
export function corrupt(x: Tensor, name: string, severity: number, opts: { suite: CorruptionSuite; seed?: number }): Tensor {
  const spec = corruptionSpec(name, opts.suite);
  if (!Number.isInteger(severity) || severity < 0 || severity > 5) throw new Error(`glassbox.corrupt: severity must be an integer 0-5 (0 = clean), got ${severity}`);
  if (x.rank !== 4) throw new Error(`glassbox.corrupt: images must be [N, C, H, W] pixels in [0, 1], got rank ${x.rank}`);
  if (severity === 0) return gb.add(x, 0);
  const seed = opts.seed ?? 0;
  return gb.noGrad(() => gb.tidy(() => withSeed(seed, () => spec.apply(x, severity, new Rng(seed)))));
}
