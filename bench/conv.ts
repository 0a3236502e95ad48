/**
 * conv2d throughput: forward, input gradient and weight gradient, in GFLOP/s (2 * N * Cout * OH *
 * OW * Cin / groups * kh * kw each), median of several runs after warm-up, on the MNIST-CNN shapes.
 * `gemmOnly` times the forward's matmul alone (on a precomputed unfold), to show what im2col adds.
 *
 *   npx esbuild bench/conv.ts --bundle --platform=node --format=esm --outfile=dist/bench-conv.mjs --external:webgpu
 *   node dist/bench-conv.mjs
 */
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';

const RUNS = 7;
const WARMUP = 2;

async function medianMs(fn: () => Tensor[]): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < WARMUP + RUNS; r++) {
    const start = performance.now();
    const outs = fn();
    await gb.sync();
    if (r >= WARMUP) times.push(performance.now() - start);
    outs.forEach((t) => t.dispose());
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function bench(name: string, [N, Cin, H, W]: number[], Cout: number, k: number): Promise<void> {
  const x = gb.randn([N!, Cin!, H!, W!]);
  const w = gb.mul(gb.randn([Cout, Cin!, k, k]), 0.1);
  const xg = gb.randn([N!, Cin!, H!, W!], { requiresGrad: true });
  const wg = gb.mul(gb.randn([Cout, Cin!, k, k]), 0.1);
  wg.requiresGrad = true;
  const [OH, OW] = [H! - k + 1, W! - k + 1];
  const g = gb.randn([N!, Cout, OH, OW]);
  const flops = 2 * N! * Cout * OH * OW * Cin! * k * k;
  // graphs whose backward computes only the input gradient (yx) or only the weight gradient (yw)
  const yx = gb.conv2d(xg, w);
  const yw = gb.conv2d(x, wg);
  const cols = gb.unfold(x, { kernelSize: k });
  const w2d = gb.reshape(w, [Cout, Cin! * k * k]);
  const results = {
    gemmOnly: await medianMs(() => [gb.matmul(w2d, cols)]),
    forward: await medianMs(() => [gb.conv2d(x, w)]),
    inputGrad: await medianMs(() => gb.grad([yx], [xg], { gradOutputs: [g], retainGraph: true }) as Tensor[]),
    weightGrad: await medianMs(() => gb.grad([yw], [wg], { gradOutputs: [g], retainGraph: true }) as Tensor[]),
  };
  for (const [what, ms] of Object.entries(results))
    console.log(`${name.padEnd(34)} ${what.padEnd(11)} ${ms.toFixed(1).padStart(8)} ms  ${(flops / ms / 1e6).toFixed(2).padStart(6)} GFLOP/s`);
}

await bench('[64,1,28,28] -> 32, 3x3', [64, 1, 28, 28], 32, 3);
await bench('[64,32,26,26] -> 64, 3x3', [64, 32, 26, 26], 64, 3);
