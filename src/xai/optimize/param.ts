/**
 * Parametrisations of the images being optimised (Olah et al. 2017, "Feature Visualization"):
 * what the optimiser moves, and how it becomes an image in [0, 1].
 *   pixel:   one value per pixel and channel;                  image = sigmoid(M t)
 *   fourier: a half spectrum scaled by 1 / max(f, 1/max(w, h))^decay, inverse real DFT, / 4
 *            (Lucid's constant);                                image = sigmoid(M irfft2(scale S) / 4)
 * M is the colour decorrelation matrix (color.ts) for 3-channel images and the identity
 * otherwise; both start from N(0, 0.01) noise like Lucid's. A batch of images is parametrised at
 * once; each image of the batch has its own values.
 */
import { noGrad } from '../../autograd/node.ts';
import { conv2d } from '../../tensor/ops/conv.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, div, mul, sigmoid, sub } from '../../tensor/ops/elementwise.ts';
import { reshape } from '../../tensor/ops/views.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { LUCID_COLOR_DECORRELATION, type ColorMatrix } from './color.ts';
import { halfWidth, inverseDftMatrices, inverseRealDft2, rfft2dFrequencies, spectrumScale, type InverseDftMatrices } from './fourier.ts';
import { normalSamples, type Random } from './random.ts';

export type ParamKind = 'pixel' | 'fourier';

/** 'none', Lucid's ImageNet matrix, or a matrix (e.g. colorDecorrelationFromData(cifar10)). */
export type Decorrelation = 'none' | 'lucid-imagenet' | ColorMatrix;

export interface ImageParam {
  readonly kind: ParamKind;
  /** [N, C, H, W] of the images. */
  readonly shape: readonly [number, number, number, number];
  /** The tensors the optimiser updates. */
  readonly params: Tensor[];
  /** The images in [0, 1], differentiable in params. */
  image(): Tensor;
  /** Gaussian blur of the images by sigma pixels, in place (Yosinski et al.'s blur regulariser). */
  blur(sigma: number): void;
  /** Sets the pixels where mask [N, 1, H, W] is 1 to the colour `value` ([0, 1] per channel); pixel parametrisation only. */
  resetPixels(mask: Tensor, value: readonly number[]): void;
  /** After each optimiser step (not L-BFGS's): puts the parameters back in their valid set, where a parametrisation has one (fromImage: pixels in [0, 1]). */
  project?(): void;
  dispose(): void;
}

export interface ParamOptions {
  kind?: ParamKind;
  /** [N, C, H, W]. */
  shape: readonly [number, number, number, number];
  /** Default: Lucid's ImageNet matrix for 3 channels, none otherwise. */
  decorrelation?: Decorrelation;
  /** Standard deviation of the initial noise (Lucid: 0.01). */
  sd?: number;
  /** The Fourier spectrum's decay power (Lucid: 1). */
  decayPower?: number;
  /**
   * The image at zero parameters, per channel in (0, 1) (default 0.5 grey, Lucid's). A dark data
   * set is better started at its mean: on MNIST a grey 0.5 image is far outside the data, and
   * LeNet-5's ReLUs after the second conv are all off there (no gradient to climb).
   */
  center?: readonly number[];
}

/** Lucid's division of the inverse DFT by 4 ("increasing this seems to reduce saturation"). */
export const LUCID_FOURIER_DIVISOR = 4;

export function makeImageParam(opts: ParamOptions, random: Random): ImageParam {
  const [n, c, h, w] = opts.shape;
  if (![n, c, h, w].every((d) => Number.isSafeInteger(d) && d > 0)) throw new Error(`glassbox.xai.optimize: image shape must be 4 positive whole numbers [N, C, H, W], got [${opts.shape.join(', ')}]`);
  const color = colorMatrix(opts.decorrelation ?? (c === 3 ? 'lucid-imagenet' : 'none'), c);
  const sd = opts.sd ?? 0.01;
  const kind = opts.kind ?? 'fourier';
  const center = opts.center ?? [0.5];
  if (!Array.isArray(center) || (center.length !== 1 && center.length !== c) || center.some((v) => !(v > 0 && v < 1)))
    throw new Error(`glassbox.xai.optimize: center must be one value or one per channel (${c}), each strictly between 0 and 1, got ${JSON.stringify(center)}`);
  const offset = Array.from({ length: c }, (_, ch) => logit(center[ch] ?? center[0]!));
  if (kind === 'pixel') return new PixelParam(opts.shape, color, offset, sd, random);
  if (kind === 'fourier') return new FourierParam(opts.shape, color, offset, sd, opts.decayPower ?? 1, random);
  throw new Error(`glassbox.xai.optimize: unknown parametrisation '${String(kind)}'; use 'pixel' or 'fourier'`);
}

function colorMatrix(d: Decorrelation, channels: number): ColorMatrix | null {
  if (d === 'none') return null;
  if (channels !== 3) throw new Error(`glassbox.xai.optimize: colour decorrelation needs 3 channels, the images have ${channels}; use decorrelation 'none'`);
  const m = d === 'lucid-imagenet' ? LUCID_COLOR_DECORRELATION : d;
  if (!Array.isArray(m) || m.length !== 9 || m.some((v) => !Number.isFinite(v))) throw new Error(`glassbox.xai.optimize: a colour matrix is 9 finite numbers (3 x 3, row-major), got ${JSON.stringify(d)}`);
  return m;
}

const logit = (v: number) => {
  const q = Math.min(Math.max(v, 1e-4), 1 - 1e-4);
  return Math.log(q / (1 - q));
};

const leaf = (values: Float32Array, shape: number[]) => tensor(values, shape, { requiresGrad: true });

/** 1-D Gaussian taps for sigma, truncated at 3 sigma, summing to 1. */
export function gaussianTaps(sigma: number): number[] {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const taps = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

/** x with 3 x 3 m x = b (Cramer's rule; m is a colour matrix, well conditioned). */
function solve3(m: ColorMatrix, b: readonly number[]): number[] {
  const det = (a: readonly number[]) => a[0]! * (a[4]! * a[8]! - a[5]! * a[7]!) - a[1]! * (a[3]! * a[8]! - a[5]! * a[6]!) + a[2]! * (a[3]! * a[7]! - a[4]! * a[6]!);
  const d = det(m);
  if (Math.abs(d) < 1e-12) throw new Error('glassbox.xai.optimize: the colour matrix is singular');
  return [0, 1, 2].map((j) => det(m.map((v, k) => (k % 3 === j ? b[Math.floor(k / 3)]! : v))) / d);
}

function checkSigma(sigma: number): void {
  if (!(sigma > 0 && Number.isFinite(sigma))) throw new Error(`glassbox.xai.optimize: blur sigma must be a positive number of pixels, got ${sigma}`);
}

abstract class BaseParam implements ImageParam {
  abstract readonly kind: ParamKind;
  abstract readonly params: Tensor[];
  private readonly colorKernel: Tensor | null;
  private readonly offsetTensor: Tensor | null;
  constructor(
    readonly shape: readonly [number, number, number, number],
    protected readonly color: ColorMatrix | null,
    /** logit(center) per channel, added before the sigmoid. */
    protected readonly offset: readonly number[],
  ) {
    this.colorKernel = color ? tensor([...color], [3, 3, 1, 1]) : null;
    // Lucid's grey start adds nothing, so its images are reproduced bit for bit
    this.offsetTensor = offset.every((o) => o === 0) ? null : tensor([...offset], [1, offset.length, 1, 1]);
  }

  /** The values before colour mixing and the sigmoid, [N, C, H, W]. */
  protected abstract logits(): Tensor;
  abstract blur(sigma: number): void;
  abstract resetPixels(mask: Tensor, value: readonly number[]): void;

  image(): Tensor {
    const t = this.logits();
    // out[c] = sum_j M[c, j] t[j] at every pixel: a 1 x 1 convolution
    const mixed = this.colorKernel ? conv2d(t, this.colorKernel) : t;
    return sigmoid(this.offsetTensor ? add(mixed, this.offsetTensor) : mixed);
  }

  dispose(): void {
    this.params.forEach((p) => p.dispose());
    this.colorKernel?.dispose();
    this.offsetTensor?.dispose();
  }
}

class PixelParam extends BaseParam {
  readonly kind = 'pixel';
  readonly params: Tensor[];
  constructor(shape: readonly [number, number, number, number], color: ColorMatrix | null, offset: readonly number[], sd: number, random: Random) {
    super(shape, color, offset);
    this.params = [leaf(normalSamples(random, shape.reduce((a, b) => a * b, 1), sd), [...shape])];
  }

  protected logits(): Tensor {
    return this.params[0]!;
  }

  blur(sigma: number): void {
    checkSigma(sigma);
    const [, c] = this.shape;
    const taps = gaussianTaps(sigma);
    const k = taps.length;
    const pad = (k - 1) / 2;
    const p = this.params[0]!;
    noGrad(() =>
      tidy(() => {
        // separable, each channel alone (groups = C), zero padding: at the border the blur pulls towards logit 0 (grey)
        const row = tensor(Array.from({ length: c }, () => taps).flat(), [c, 1, 1, k]);
        const col = tensor(Array.from({ length: c }, () => taps).flat(), [c, 1, k, 1]);
        p.assign(conv2d(conv2d(p, row, null, { padding: [0, pad], groups: c }), col, null, { padding: [pad, 0], groups: c }).contiguous());
      }),
    );
  }

  resetPixels(mask: Tensor, value: readonly number[]): void {
    const [, c] = this.shape;
    if (value.length !== c) throw new Error(`glassbox.xai.optimize: resetPixels needs one value per channel (${c}), got ${value.length}`);
    // the parameters whose image is `value`: sigmoid^-1 less the offset, then M^-1 where colours are decorrelated
    const mixed = value.map((v, ch) => logit(v) - this.offset[ch]!);
    const target = this.color ? solve3(this.color, mixed) : mixed;
    const p = this.params[0]!;
    noGrad(() =>
      tidy(() => {
        const keepMask = sub(1, mask);
        p.assign(add(mul(p, keepMask), mul(tensor(target, [1, c, 1, 1]), mask)).contiguous());
      }),
    );
  }
}

class FourierParam extends BaseParam {
  readonly kind = 'fourier';
  readonly params: Tensor[];
  private readonly scale: Tensor;
  private readonly matrices: InverseDftMatrices;
  constructor(shape: readonly [number, number, number, number], color: ColorMatrix | null, offset: readonly number[], sd: number, decayPower: number, random: Random) {
    super(shape, color, offset);
    if (!(decayPower >= 0 && Number.isFinite(decayPower))) throw new Error(`glassbox.xai.optimize: decayPower must be a number >= 0, got ${decayPower}`);
    const [n, c, h, w] = shape;
    const spectrum = [n * c, h, halfWidth(w)];
    const size = spectrum.reduce((a, b) => a * b, 1);
    this.params = [leaf(normalSamples(random, size, sd), spectrum), leaf(normalSamples(random, size, sd), spectrum)];
    this.scale = tensor(spectrumScale(h, w, decayPower), [h, halfWidth(w)]);
    this.matrices = inverseDftMatrices(h, w);
  }

  protected logits(): Tensor {
    const [real, imag] = this.params as [Tensor, Tensor];
    const spatial = inverseRealDft2(mul(real, this.scale), mul(imag, this.scale), this.matrices);
    return reshape(div(spatial, LUCID_FOURIER_DIVISOR), [...this.shape]);
  }

  /** A Gaussian of sigma pixels multiplies frequency f by exp(-2 pi^2 sigma^2 f^2): the blur of the periodic image, exactly. */
  blur(sigma: number): void {
    checkSigma(sigma);
    const [, , h, w] = this.shape;
    const gain = Float32Array.from(rfft2dFrequencies(h, w), (f) => Math.exp(-2 * Math.PI * Math.PI * sigma * sigma * f * f));
    noGrad(() =>
      tidy(() => {
        const g = tensor(gain, [h, halfWidth(w)]);
        for (const p of this.params) p.assign(mul(p, g).contiguous());
      }),
    );
  }

  resetPixels(): void {
    throw new Error("glassbox.xai.optimize: pixel clipping (Yosinski et al.'s norm and contribution clipping) sets pixels directly, which the Fourier parametrisation cannot; use param 'pixel' (CLI: --param pixel)");
  }

  override dispose(): void {
    super.dispose();
    [this.scale, this.matrices.cosH, this.matrices.sinH, this.matrices.cosW, this.matrices.sinW].forEach((t) => t.dispose());
  }
}
