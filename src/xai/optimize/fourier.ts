/**
 * The Fourier side of Olah et al.'s (2017) image parametrisation, written with existing ops so
 * that it is differentiable without a new kernel: the inverse real 2-D DFT of a half spectrum
 * [.., h, w/2+1] (real and imaginary parts as two tensors) as six small matmuls with cos/sin
 * matrices precomputed in float64. Normalisation is 'ortho', as Lucent's
 * torch.fft.irfftn(spectrum, s=(h, w), norm='ortho') (Lucid's sqrt(w h) factor on TF's
 * unnormalised inverse is the same). Plus the float64 forward DFT used to measure how much of an
 * image's energy sits at high spatial frequencies.
 */
import { tensor } from '../../tensor/ops/creation.ts';
import { add, sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Columns of the half spectrum of a real signal of width w. */
export const halfWidth = (w: number): number => Math.floor(w / 2) + 1;

/** numpy.fft.fftfreq(n)[i]: cycles per pixel of DFT bin i. */
export const fftFreq = (i: number, n: number): number => (i <= Math.floor((n - 1) / 2) ? i : i - n) / n;

/** |f| of every bin of the half spectrum [h, w/2+1], row-major (Lucid's rfft2d_freqs). */
export function rfft2dFrequencies(h: number, w: number): Float64Array {
  const wf = halfWidth(w);
  const out = new Float64Array(h * wf);
  for (let k = 0; k < h; k++) for (let l = 0; l < wf; l++) out[k * wf + l] = Math.hypot(fftFreq(k, h), l / w);
  return out;
}

/** Lucid's spectrum scale 1 / max(f, 1/max(w, h))^decayPower per bin [h, w/2+1]: every frequency gets about equal energy in the image. */
export function spectrumScale(h: number, w: number, decayPower = 1): Float32Array {
  const floor = 1 / Math.max(w, h);
  return Float32Array.from(rfft2dFrequencies(h, w), (f) => 1 / Math.max(f, floor) ** decayPower);
}

/** The cos/sin matrices of the two passes (float64 angles, float32 entries), made once per image size. */
export interface InverseDftMatrices {
  h: number;
  w: number;
  /** [h, h]: cos(2 pi k m / h) / sqrt(h), indexed [m, k]. */
  cosH: Tensor;
  sinH: Tensor;
  /** [w/2+1, w]: c_l cos(2 pi l n / w) / sqrt(w), indexed [l, n]; c_l = 2 except the DC and (even w) Nyquist columns. */
  cosW: Tensor;
  sinW: Tensor;
}

export function inverseDftMatrices(h: number, w: number): InverseDftMatrices {
  const wf = halfWidth(w);
  const mat = (rows: number, cols: number, f: (r: number, c: number) => number) => {
    const a = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * cols + c] = f(r, c);
    return tensor(a, [rows, cols]);
  };
  const weight = (l: number) => (l === 0 || (w % 2 === 0 && l === w / 2) ? 1 : 2) / Math.sqrt(w);
  return {
    h,
    w,
    cosH: mat(h, h, (m, k) => Math.cos((2 * Math.PI * ((k * m) % h)) / h) / Math.sqrt(h)),
    sinH: mat(h, h, (m, k) => Math.sin((2 * Math.PI * ((k * m) % h)) / h) / Math.sqrt(h)),
    cosW: mat(wf, w, (l, n) => weight(l) * Math.cos((2 * Math.PI * ((l * n) % w)) / w)),
    sinW: mat(wf, w, (l, n) => weight(l) * Math.sin((2 * Math.PI * ((l * n) % w)) / w)),
  };
}

/**
 * The real image [.., h, w] whose half spectrum is real + i imag [.., h, w/2+1] (irfftn with
 * s = (h, w), norm 'ortho'): first the complex inverse DFT down the columns, then the
 * complex-to-real one along the rows. As in c2r, the imaginary parts of the DC and Nyquist
 * columns do not matter (their sines vanish).
 */
export function inverseRealDft2(real: Tensor, imag: Tensor, m: InverseDftMatrices): Tensor {
  const yReal = sub(matmul(m.cosH, real), matmul(m.sinH, imag));
  const yImag = add(matmul(m.sinH, real), matmul(m.cosH, imag));
  return sub(matmul(yReal, m.cosW), matmul(yImag, m.sinW));
}

/**
 * The share of an image's spectral energy (mean removed, float64 DFT) at radial frequencies
 * above half the Nyquist frequency (|f| > 0.25 cycles per pixel): near 0 for smooth pictures,
 * about 0.8 for white noise (the disc of radius 0.25 covers pi/16 of the [-0.5, 0.5]^2 square).
 */
export function highFrequencyShare(values: ArrayLike<number>, h: number, w: number): number {
  let m = 0;
  for (let i = 0; i < h * w; i++) m += values[i]!;
  m /= h * w;
  // separable: a DFT along each row, then down each column (O(h w (h + w)), fine at 128 x 128)
  const rowRe = new Float64Array(h * w);
  const rowIm = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let l = 0; l < w; l++) {
      let re = 0;
      let im = 0;
      for (let x = 0; x < w; x++) {
        const angle = (-2 * Math.PI * ((l * x) % w)) / w;
        const v = values[y * w + x]! - m;
        re += v * Math.cos(angle);
        im += v * Math.sin(angle);
      }
      rowRe[y * w + l] = re;
      rowIm[y * w + l] = im;
    }
  let high = 0;
  let total = 0;
  for (let k = 0; k < h; k++)
    for (let l = 0; l < w; l++) {
      let re = 0;
      let im = 0;
      for (let y = 0; y < h; y++) {
        const angle = (-2 * Math.PI * ((k * y) % h)) / h;
        const [c, s] = [Math.cos(angle), Math.sin(angle)];
        re += rowRe[y * w + l]! * c - rowIm[y * w + l]! * s;
        im += rowRe[y * w + l]! * s + rowIm[y * w + l]! * c;
      }
      const energy = re * re + im * im;
      total += energy;
      if (Math.hypot(fftFreq(k, h), fftFreq(l, w)) > 0.25) high += energy;
    }
  return total === 0 ? 0 : high / total;
}
