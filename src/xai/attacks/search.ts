/**
 * What the two minimum-distortion attacks share (Szegedy et al.'s L-BFGS, Carlini & Wagner's L2):
 * a per-image constant c found by binary search over rounds of optimisation, and the smallest
 * successful perturbation seen so far per image, kept on the GPU (no readback per step).
 */
import { noGrad } from '../../autograd/node.ts';
import { full } from '../../tensor/ops/creation.ts';
import { lt, mul, sub, where } from '../../tensor/ops/elementwise.ts';
import { sum } from '../../tensor/ops/reduce.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { perImage, perImageNorm, type PixelModel } from './attack.ts';

/** The distance recorded where no adversarial was found yet (finite: kernels take it as a literal). */
const NONE = 1e30;

/** The smallest-L2 adversarial found so far per image (x itself where none was found). */
export class BestAdversarial {
  pixels: Tensor;
  private l2: Tensor;
  /** 1 where this round fooled the model at least once. */
  private roundHits: Tensor;

  constructor(private readonly x: Tensor) {
    this.pixels = keep(tidy(() => mul(x, 1)));
    this.l2 = keep(full([x.shape[0]!], NONE));
    this.roundHits = keep(full([x.shape[0]!], 0));
  }

  /** Records candidate pixels where they fool the model and are closer to x than the best so far. */
  offer(m: PixelModel, candidate: Tensor, y: Tensor, target: Tensor | undefined): void {
    const next = tidy(() =>
      noGrad(() => {
        const adv = candidate.detach();
        const fooled = m.fooled(adv, y, target);
        const dist = perImageNorm(sub(adv, this.x)).view(-1);
        const better = mul(fooled, lt(dist, this.l2));
        return { pixels: keep(where(perImage(better, adv), adv, this.pixels)), l2: keep(where(better, dist, this.l2)), hits: keep(where(fooled, 1, this.roundHits)) };
      }),
    );
    [this.pixels, this.l2, this.roundHits].forEach((t) => t.dispose());
    [this.pixels, this.l2, this.roundHits] = [next.pixels, next.l2, next.hits];
  }

  /** Which images the round just ended fooled (read back), starting the next round. */
  async endRound(): Promise<boolean[]> {
    const hits = Array.from(await this.roundHits.toArray(), (v) => v > 0);
    this.roundHits.dispose();
    this.roundHits = keep(full([this.x.shape[0]!], 0));
    return hits;
  }

  /** The number of images fooled so far. */
  async count(): Promise<number> {
    const t = tidy(() => sum(lt(this.l2, NONE)));
    return t.item().finally(() => t.dispose());
  }

  dispose(): void {
    [this.l2, this.roundHits].forEach((t) => t.dispose());
  }
}

/**
 * Binary search for a per-image constant: `up` says which way c moves after a success (C&W: a
 * success lowers c, the weight of the attack's loss; Szegedy: a success raises c, the weight of
 * the distortion). Until the other side is bracketed, c moves by a factor of 10.
 */
export class ConstantSearch {
  readonly c: number[];
  private readonly low: number[];
  private readonly high: number[];

  constructor(n: number, initial: number, private readonly raiseOnSuccess: boolean) {
    this.c = Array<number>(n).fill(initial);
    this.low = Array<number>(n).fill(0);
    this.high = Array<number>(n).fill(Infinity);
  }

  update(success: readonly boolean[]): void {
    success.forEach((ok, i) => {
      const up = ok === this.raiseOnSuccess;
      if (up) this.low[i] = this.c[i]!;
      else this.high[i] = this.c[i]!;
      this.c[i] = Number.isFinite(this.high[i]!) ? (this.low[i]! + this.high[i]!) / 2 : this.c[i]! * 10;
    });
  }
}
