/**
 * Reference inputs ("baselines") for path methods (Integrated Gradients, DeepLIFT) and the
 * seeded noise that SmoothGrad, noise baselines and GradientSHAP draw. A baseline is one of
 *   'black'          the image of pixel value 0, in the model's normalised input space
 *                    ((0 - mean_c) / std_c per channel; plain zeros without a normalisation);
 *   'blurred'        the input under a Gaussian blur (Sturmfels, Lundberg, Lee 2020,
 *                    "Visualizing the impact of feature attribution baselines");
 *   'uniform-noise'  pixels uniform in [0, 1], normalised like the input;
 *   a tensor         broadcastable to the input ([N, C, H, W], [1, C, H, W], ...).
 * Random draws use their own seed and leave the global generator where it was; every sample of a
 * batch gets the same draw, so a batch gives the same result as its samples one by one.
 */
import { conv2d } from '../tensor/ops/conv.ts';
import { full, onesLike, rand, randn, rngState, setRngState, manualSeed, tensor } from '../tensor/ops/creation.ts';
import { div, sub } from '../tensor/ops/elementwise.ts';
import { expand, reshape } from '../tensor/ops/views.ts';
import { shapeStr } from '../tensor/shape.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import type { OptionSchema } from '../tensor/check-options.ts';

export type BaselineKind = 'black' | 'blurred' | 'uniform-noise';
export type Baseline = BaselineKind | Tensor;

/** The per-channel normalisation the model's inputs went through: x = (pixel - mean) / std. */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}

export interface BaselineOptions {
  normalization?: Normalization;
  /** Standard deviation of the 'blurred' baseline's Gaussian, in pixels (default 5). */
  blurSigma?: number;
  /** Seed of the 'uniform-noise' baseline (default 0). */
  seed?: number;
}

/** PathBaselineOptions' schema, for the methods' run-time option checks. */
export const PATH_BASELINE_OPTIONS: OptionSchema = { normalization: 'object', blurSigma: 'number', seed: 'number', baseline: ['=black', '=blurred', '=uniform-noise', 'tensor'] };

/** Options of methods that compare the input with one baseline (Integrated Gradients, DeepLIFT). */
export interface PathBaselineOptions extends BaselineOptions {
  /** Default 'black'. */
  baseline?: Baseline;
}

/** `fn` with the global generator seeded by `seed`, restoring the generator afterwards. */
export function withSeed<T>(seed: number, fn: () => T): T {
  const saved = rngState();
  manualSeed(seed);
  try {
    return fn();
  } finally {
    setRngState(saved);
  }
}

/** Standard normal or uniform [0, 1) noise of `shape`, reproducible from `seed`. */
export function seededNoise(shape: readonly number[], seed: number, kind: 'normal' | 'uniform' = 'normal'): Tensor {
  return withSeed(seed, () => (kind === 'normal' ? randn(shape) : rand(shape)));
}

/** Pixel values [N, C, H, W] in [0, 1] mapped into the model's input space. */
function normalisePixels(pixels: Tensor, norm: Normalization | undefined): Tensor {
  if (!norm) return pixels;
  const c = pixels.shape[1]!;
  const at = (v: readonly number[], what: string) => {
    if (v.length !== 1 && v.length !== c) throw new Error(`glassbox.xai: normalisation ${what} has ${v.length} entries for ${c} channels`);
    return tensor(Float32Array.from({ length: c }, (_, i) => v[v.length === 1 ? 0 : i]!), [1, c, 1, 1]);
  };
  return div(sub(pixels, at(norm.mean, 'mean')), at(norm.std, 'std'));
}

/** The baseline for `input` [N, C, H, W], as a tensor of the input's shape. */
export function makeBaseline(input: Tensor, baseline: Baseline, opts: BaselineOptions = {}): Tensor {
  if (input.rank !== 4) throw new Error(`glassbox.xai: baselines need an input [N, C, H, W], got ${shapeStr(input.shape)}`);
  const [, c, h, w] = input.shape as [number, number, number, number];
  return tidy(() => {
    if (typeof baseline !== 'string') {
      try {
        return expand(baseline, input.shape).contiguous();
      } catch {
        throw new Error(`glassbox.xai: baseline of shape ${shapeStr(baseline.shape)} does not broadcast to the input ${shapeStr(input.shape)}`);
      }
    }
    switch (baseline) {
      case 'black':
        return expand(normalisePixels(full([1, c, 1, 1], 0), opts.normalization), input.shape).contiguous();
      case 'uniform-noise':
        return expand(normalisePixels(seededNoise([1, c, h, w], opts.seed ?? 0, 'uniform'), opts.normalization), input.shape).contiguous();
      case 'blurred':
        return gaussianBlur(input, opts.blurSigma ?? 5);
      default:
        throw new Error(`glassbox.xai: unknown baseline '${baseline as string}'; use 'black', 'blurred', 'uniform-noise' or a tensor`);
    }
  });
}

/** 1-D Gaussian weights of standard deviation `sigma`, truncated at 3 sigma. */
function gaussianKernel(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float32Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / total);
}

/**
 * Separable Gaussian blur of every channel. Near the border the zero padding would pull values
 * towards 0 (not a neutral value after normalisation), so the result is divided by the blur of
 * an all-ones image: each pixel is the weighted mean of the pixels that exist.
 */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  if (!(sigma > 0)) throw new Error(`glassbox.xai: blur sigma must be positive, got ${sigma}`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  return tidy(() => {
    const rows = tensor(k, [1, 1, 1, k.length]);
    const cols = tensor(k, [1, 1, k.length, 1]);
    const blur = (t: Tensor) => conv2d(conv2d(t, rows, undefined, { padding: [0, r] }), cols, undefined, { padding: [r, 0] });
    const planes = reshape(x, [n * c, 1, h, w]);
    return reshape(div(blur(planes), blur(onesLike(planes))), x.shape);
  });
}
