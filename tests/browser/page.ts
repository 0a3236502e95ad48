/**
 * The in-page script of tests/browser.test.ts, bundled with esbuild for the browser.
 *
 * `runWorkload()` is the computation both sides run: the page (on Chromium's WebGPU,
 * SwiftShader) and the test itself in Node (Dawn on lavapipe), which imports this file.
 * Inputs come from a fixed integer hash of the index (`fixedValues`), never from the GPU random
 * generator, so both sides start from the same numbers. In a browser the module runs the
 * workload on load and posts the outcome to `window.__result`.
 */
import * as gb from '../../src/index.ts';

export interface WorkloadResult {
  ok: true;
  adapter: { vendor: string; architecture: string; device: string; description: string; fallback: boolean };
  target: string;
  matmulShape: number[];
  matmul: number[];
  loss: number;
  gradW1: number[];
  gradB1: number[];
  gradW2: number[];
  gradB2: number[];
  ms: number;
}

export interface WorkloadFailure {
  ok: false;
  error: string;
}

export type PageResult = WorkloadResult | WorkloadFailure;

declare global {
  interface Window {
    __result?: PageResult;
  }
}

/**
 * n values in [-scale, scale) from a fixed integer hash of (seed, index): plain JavaScript
 * integer arithmetic, so Node and any browser get bit-identical inputs.
 */
export function fixedValues(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(seed + 1, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
    h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
    h ^= h >>> 16;
    out[i] = scale * ((h >>> 0) / 2 ** 31 - 1);
  }
  return out;
}

export async function runWorkload(): Promise<WorkloadResult> {
  const t0 = performance.now();
  const info = await gb.init();

  // 1. a plain matmul, 64x48 @ 48x32
  const A = gb.tensor(fixedValues(64 * 48, 1, 1), [64, 48]);
  const B = gb.tensor(fixedValues(48 * 32, 2, 0.5), [48, 32]);
  const C = gb.matmul(A, B);
  const matmul = Array.from(await C.toArray());

  // 2. a 2-layer MLP, 20 -> 24 -> relu -> 10 classes, batch of 16, cross-entropy, backward
  const N = 16, D = 20, H = 24, K = 10;
  const X = gb.tensor(fixedValues(N * D, 3, 1.5), [N, D]);
  const W1 = gb.tensor(fixedValues(D * H, 4, 0.5), [D, H], { requiresGrad: true });
  const b1 = gb.tensor(fixedValues(H, 5, 0.1), [H], { requiresGrad: true });
  const W2 = gb.tensor(fixedValues(H * K, 6, 0.8), [H, K], { requiresGrad: true });
  const b2 = gb.tensor(fixedValues(K, 7, 0.2), [K], { requiresGrad: true });
  const labels = Int32Array.from({ length: N }, (_, i) => (i * 7 + 3) % K);
  const y = gb.tensor(labels, [N], { dtype: 'int32' });

  const h = gb.relu(gb.add(gb.matmul(X, W1), b1));
  const logits = gb.add(gb.matmul(h, W2), b2);
  const loss = gb.crossEntropy(logits, y);
  loss.backward();

  const grads = [W1, b1, W2, b2].map((p) => {
    if (!p.grad) throw new Error('glassbox browser workload: a parameter has no gradient after backward()');
    return p.grad;
  });
  const [gradW1, gradB1, gradW2, gradB2] = await Promise.all(grads.map(async (g) => Array.from(await g.toArray())));

  return {
    ok: true,
    adapter: info.adapter,
    target: info.target,
    matmulShape: [...C.shape],
    matmul,
    loss: await loss.item(),
    gradW1: gradW1!,
    gradB1: gradB1!,
    gradW2: gradW2!,
    gradB2: gradB2!,
    ms: performance.now() - t0,
  };
}

if (typeof window !== 'undefined' && typeof document !== 'undefined') {
  runWorkload().then(
    (r) => {
      window.__result = r;
    },
    (e: unknown) => {
      window.__result = { ok: false, error: e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e) };
    },
  );
}
