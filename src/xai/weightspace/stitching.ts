/**
 * A4, stitching (Lenc & Vedaldi 2015, "Understanding image representations by measuring their
 * equivariance and equivalence"): are two nets' codes at a layer the same up to a linear map?
 * Net A's bottom (the input up to layer L), a learnt map, then net B's top (after layer L): only
 * the map is trained (a 1x1 convolution for [N, C, H, W] activations, a linear layer for [N, F]),
 * both nets frozen. If the stitched net is about as accurate as B, A's code at L carries what B's
 * top reads, in a form a linear map recovers. The map starts at the identity (so "stitching
 * without a map", the nets' units taken as the same, is measured first).
 */
import { Conv2d } from '../../nn/conv-layers.ts';
import { Linear, ReLU } from '../../nn/layers.ts';
import { MaxPool2d } from '../../nn/conv-layers.ts';
import { Module } from '../../nn/module.ts';
import { noGrad } from '../../autograd/node.ts';
import { eye, zeros } from '../../tensor/ops/creation.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { reshape } from '../../tensor/ops/views.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { shapeStr } from '../../tensor/shape.ts';
import type { DataLoader } from '../../train/data-loader.ts';
import { Adam } from '../../train/optim.ts';
import { evaluate } from '../../train/trainer.ts';

/** The output of `layer` in one forward pass of `model`. */
function activationAt(model: Module, layer: string, x: Tensor): Tensor {
  let captured: Tensor | undefined;
  const remove = model.getSubmodule(layer).registerForwardHook((_, __, out) => void (captured = out));
  try {
    const out = model.forward(x);
    if (!captured) throw new Error(`glassbox.weightspace: layer '${layer}' did not run in the forward pass, so it has no units to stitch at (a layer without units)`);
    if (captured !== out) out.dispose();
    return captured;
  } finally {
    remove();
  }
}

/** The stitched net: A up to `layer`, the map, B after `layer`. */
export class StitchedNet extends Module {
  constructor(
    readonly netA: Module,
    readonly netB: Module,
    readonly layer: string,
    readonly map: Conv2d | Linear,
  ) {
    super();
  }
  // netA and netB are not children: their parameters stay out of this module's (only the map trains)
  override namedChildren(): Array<[string, Module]> {
    return [['map', this.map]];
  }
  forward(x: Tensor): Tensor {
    const code = noGrad(() => activationAt(this.netA, this.layer, x));
    const mapped = this.map.forward(code);
    const remove = this.netB.getSubmodule(this.layer).registerForwardHook(() => mapped);
    try {
      return this.netB.forward(x);
    } finally {
      remove();
    }
  }
}

export interface StitchOptions {
  train: DataLoader;
  test: DataLoader;
  epochs?: number;
  /** Adam's learning rate (default 1e-2: the map is small and starts far from its optimum). */
  lr?: number;
  onStep?: (step: number, total: number) => void;
}

export interface StitchResult {
  layer: string;
  /** The activation's shape without the batch: [C, H, W] or [F]. */
  shape: number[];
  accuracyA: number;
  accuracyB: number;
  /** A's bottom straight into B's top (the map at the identity). */
  accuracyIdentity: number;
  accuracyStitched: number;
  lossStitched: number;
  /** The map's weights, [out units (B's), in units (A's)], row-major; and its bias. */
  weights: Float32Array;
  bias: Float32Array;
  units: number;
  /**
   * How close the map is to a permutation with scales: the mean over B's units of the largest
   * |weight| in its row over the row's L1 norm (1 for a scaled permutation, 1/units for a uniform mix).
   */
  peakiness: number;
  seconds: number;
}

/** The layers stitched by default: each max pooling, and each ReLU not followed by one (where codes are read). */
export function defaultStitchLayers(model: Module): string[] {
  const leaves = model.namedModules().filter(([, m]) => m.namedChildren().length === 0);
  const out = leaves.filter(([, m], i) => m instanceof MaxPool2d || (m instanceof ReLU && !(leaves[i + 1]?.[1] instanceof MaxPool2d))).map(([name]) => name);
  if (!out.length) throw new Error('glassbox.weightspace: the model has no ReLU or MaxPool2d layer modules to stitch at by default; name the layers');
  return out;
}

export class Stitching {
  constructor(
    readonly netA: Module,
    readonly netB: Module,
    readonly inputShape: readonly number[],
  ) {}

  /** The activation shapes of both nets at `layer`, checked equal. */
  private layerShape(layer: string): number[] {
    const probe = (m: Module, which: string) => {
      try {
        m.getSubmodule(layer);
      } catch (e) {
        throw new Error(`glassbox.weightspace: stitching at '${layer}': ${which} has no such layer (${(e as Error).message.replace(/^glassbox\.nn: /, '')})`);
      }
      return tidy(() => noGrad(() => [...activationAt(m, layer, zeros([1, ...this.inputShape])).shape].slice(1)));
    };
    const wasA = this.netA.training;
    const wasB = this.netB.training;
    this.netA.eval();
    this.netB.eval();
    try {
      const a = probe(this.netA, 'net A');
      const b = probe(this.netB, 'net B');
      if (a.length !== b.length || a.some((d, i) => d !== b[i]))
        throw new Error(`glassbox.weightspace: stitching at '${layer}' needs the same activation shape in both nets, but net A gives ${shapeStr(a)} and net B ${shapeStr(b)}`);
      if (a.length !== 1 && a.length !== 3) throw new Error(`glassbox.weightspace: stitching at '${layer}': its activation ${shapeStr(a)} is neither [C, H, W] nor [F]`);
      return a;
    } finally {
      this.netA.train(wasA);
      this.netB.train(wasB);
    }
  }

  /** Learns the map at `layer` and scores A, B, the identity stitch and the learnt stitch on the test images. */
  async stitch(layer: string, opts: StitchOptions): Promise<StitchResult> {
    const started = performance.now();
    const shape = this.layerShape(layer);
    const units = shape[0]!;
    const map = shape.length === 3 ? new Conv2d(units, units, 1) : new Linear(units, units);
    noGrad(() => {
      map.weight.assign(reshape(eye(units), [...map.weight.shape]));
      map.bias!.assign(zeros([units]));
    });
    const stitched = new StitchedNet(this.netA, this.netB, layer, map);
    const loss = (l: Tensor, y: Tensor) => crossEntropy(l, y);
    this.netA.eval();
    this.netB.eval();
    const frozen = [...this.netA.parameters(), ...this.netB.parameters()].map((p) => [p, p.requiresGrad] as const);
    frozen.forEach(([p]) => (p.requiresGrad = false));
    try {
      const accuracyA = (await evaluate(this.netA, opts.test, loss)).accuracy;
      const accuracyB = (await evaluate(this.netB, opts.test, loss)).accuracy;
      const accuracyIdentity = (await evaluate(stitched, opts.test, loss)).accuracy;
      const optimizer = new Adam(map.parameters(), { lr: opts.lr ?? 1e-2 });
      const epochs = opts.epochs ?? 1;
      const total = epochs * opts.train.batchesPerEpoch;
      let step = 0;
      // the map trains; the nets stay in eval mode (frozen batch norm statistics, no dropout)
      map.train();
      for (let epoch = 0; epoch < epochs; epoch++)
        for (const batch of opts.train.batches(epoch)) {
          tidy(() => {
            optimizer.zeroGrad();
            loss(stitched.forward(batch.x), batch.y).backward();
            optimizer.step();
          });
          batch.x.dispose();
          batch.y.dispose();
          opts.onStep?.(++step, total);
        }
      optimizer.zeroGrad();
      const scored = await evaluate(stitched, opts.test, loss);
      const weights = Float32Array.from(await map.weight.toArray());
      const bias = Float32Array.from(await map.bias!.toArray());
      let peak = 0;
      for (let o = 0; o < units; o++) {
        let max = 0;
        let l1 = 0;
        for (let i = 0; i < units; i++) {
          const w = Math.abs(weights[o * units + i]!);
          max = Math.max(max, w);
          l1 += w;
        }
        peak += l1 > 0 ? max / l1 / units : 0;
      }
      return { layer, shape, accuracyA, accuracyB, accuracyIdentity, accuracyStitched: scored.accuracy, lossStitched: scored.loss, weights, bias, units, peakiness: peak, seconds: (performance.now() - started) / 1000 };
    } finally {
      frozen.forEach(([p, r]) => (p.requiresGrad = r));
    }
  }
}
