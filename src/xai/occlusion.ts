/**
 * Occlusion sensitivity (Zeiler & Fergus 2014, sec. 4.2): slide a window over the image, fill it
 * with a constant (or the image's mean), and record how much the target score drops:
 *   drop_p = S(x) - S(x with window p filled)
 *   A(pixel) = mean of drop_p over the windows p that cover the pixel.
 * All occluded copies of an image go through the model in batches of internalBatchSize; the
 * window masks are built once on the CPU, and the averaging is one matmul drops [P] x masks [P, HW]
 * on the GPU, so nothing is read back.
 */
import { noGrad } from '../autograd/node.ts';
import { keep, tidy, type Tensor } from '../tensor/tensor.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { add, div, mul, sub } from '../tensor/ops/elementwise.ts';
import { mean } from '../tensor/ops/reduce.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { cat, expand, reshape, slice } from '../tensor/ops/views.ts';
import { Attribution, checkAttributeOptions, targetScores, type AttributeOptions } from './attribution.ts';
import { resolveTarget, targetForRows } from './gradient.ts';
import { registerMethods } from './registry.ts';

export interface OcclusionOptions extends AttributeOptions {
  /** Window [height, width] (or one number for a square); default 4. */
  window?: number | readonly [number, number];
  /** Step between windows; default the window size (no overlap). */
  stride?: number | readonly [number, number];
  /** What fills the window: a value (in the model's input space) or 'mean', each image's per-channel mean. Default 0. */
  fill?: number | 'mean';
  /** Occluded copies per forward pass (default 64). */
  internalBatchSize?: number;
}

const asPair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** Top-left corners along one axis: every `stride`, plus a last window flush with the border so every pixel is covered. */
function windowStarts(size: number, window: number, stride: number): number[] {
  if (window > size) throw new Error(`glassbox.xai: occlusion window ${window} is larger than the image side ${size}`);
  const starts: number[] = [];
  for (let s = 0; s + window <= size; s += stride) starts.push(s);
  if (starts[starts.length - 1]! + window < size) starts.push(size - window);
  return starts;
}

export class Occlusion extends Attribution<OcclusionOptions> {
  async attribute(input: Tensor, opts: OcclusionOptions): Promise<Tensor> {
    checkAttributeOptions('Occlusion', opts, { window: 'pair', stride: 'pair', fill: ['number', '=mean'], internalBatchSize: 'number' });
    const [n, c, h, w] = input.shape as [number, number, number, number];
    const [wh, ww] = asPair(opts.window ?? 4);
    const [sh, sw] = asPair(opts.stride ?? [wh, ww]);
    if (![wh, ww, sh, sw].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`glassbox.xai: occlusion window and stride must be positive integers, got ${wh}x${ww} / ${sh}x${sw}`);
    const batch = opts.internalBatchSize ?? 64;
    const ys = windowStarts(h, wh, sh);
    const xs = windowStarts(w, ww, sw);
    const positions = ys.length * xs.length;
    // masks[p, pixel] = 1 inside window p
    const masks = new Float32Array(positions * h * w);
    const cover = new Float32Array(h * w);
    ys.forEach((y0, iy) =>
      xs.forEach((x0, ix) => {
        const p = iy * xs.length + ix;
        for (let y = y0; y < y0 + wh; y++) for (let x = x0; x < x0 + ww; x++) (masks[p * h * w + y * w + x] = 1), cover[y * w + x]!++;
      }),
    );
    const target = await resolveTarget(opts.target, n);
    const windowMasks = keep(tensor(masks, [positions, 1, h, w]));
    const coverCount = keep(tensor(cover, [1, h * w]));
    try {
      const maps = noGrad(() =>
        Array.from({ length: n }, (_, i) =>
          tidy(() => {
            const x = slice(input, 0, { start: i, end: i + 1 });
            const fill = opts.fill === 'mean' ? mean(x, { dim: [2, 3], keepdim: true }) : (opts.fill ?? 0);
            const score = (batchInput: Tensor) => targetScores(this.model.forward(batchInput), targetForRows(target, new Array<number>(batchInput.shape[0]!).fill(i)), opts.score);
            const original = score(x);
            const drops: Tensor[] = [];
            for (let start = 0; start < positions; start += batch) {
              const m = slice(windowMasks, 0, { start, end: Math.min(start + batch, positions) });
              // x where the mask is 0, the fill where it is 1
              const occluded = add(mul(sub(1, m), x), mul(m, fill));
              drops.push(sub(original, score(occluded)));
            }
            const drop = reshape(cat(drops, 0), [1, positions]);
            const map = div(matmul(drop, reshape(windowMasks, [positions, h * w])), coverCount);
            return expand(reshape(map, [1, 1, h, w]), [1, c, h, w]);
          }),
        ),
      );
      const out = noGrad(() => cat(maps, 0));
      maps.forEach((m) => m.dispose());
      return out;
    } finally {
      windowMasks.dispose();
      coverCount.dispose();
    }
  }
}

registerMethods([
  {
    name: 'occlusion',
    catalogue: 'B7',
    description: 'Occlusion sensitivity (Zeiler & Fergus 2014): score drop when a sliding 4x4 window is filled with 0',
    output: 'input',
    signed: true,
    create: (model) => new Occlusion(model),
  },
]);
