/**
 * DCGAN (Radford et al. 2016) sized for 28x28 single-channel images (MNIST):
 *
 *   generator      z [B, nz] -> view [B, nz, 1, 1]
 *                  convT nz->2w 7x7            -> 7x7,   batch norm, ReLU   (layer 'block1')
 *                  convT 2w->w 4x4 stride 2     -> 14x14, batch norm, ReLU   (layer 'block2')
 *                  convT w->1 4x4 stride 2      -> 28x28, tanh (pixels in [-1, 1])
 *   discriminator  conv 1->w 4x4 stride 2       -> 14x14, leaky ReLU 0.2
 *                  conv w->2w 4x4 stride 2      -> 7x7,   batch norm (none for a WGAN-GP critic), leaky ReLU 0.2
 *                  conv 2w->1 7x7               -> one logit per image
 *
 * Weights start as the paper says: conv weights N(0, 0.02), batch norm scales N(1, 0.02), biases 0
 * (a WGAN-GP critic keeps the default initialisation).
 * `Dcgan` holds both nets so one safetensors file (and one checkpoint) carries the pair.
 */
import { BatchNorm2d, Conv2d, ConvTranspose2d } from '../conv-layers.ts';
import { LeakyReLU, ReLU, Sequential, Tanh } from '../layers.ts';
import { Module } from '../module.ts';
import { noGrad } from '../../autograd/node.ts';
import { normal, zeros } from '../../tensor/ops/creation.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export interface DcganOptions {
  /** Length of the latent vector z (default 64). */
  latentSize?: number;
  /** Base channel width w (default 32): the generator's layers have 2w and w channels, the discriminator's w and 2w. */
  width?: number;
  /** Image channels (default 1). */
  channels?: number;
  /** The discriminator's normalisation: 'batch' (DCGAN, default) or 'none' (a WGAN-GP critic, whose gradient penalty is per image). */
  discriminatorNorm?: 'batch' | 'none';
}

export const DCGAN_DEFAULTS = { latentSize: 64, width: 32, channels: 1, discriminatorNorm: 'batch' } as const;
export const DCGAN_IMAGE_SIZE = 28;

export class DcganGenerator extends Module {
  readonly latentSize: number;
  block1: Sequential;
  block2: Sequential;
  toImage: Sequential;
  constructor(opts: DcganOptions = {}) {
    super();
    const { latentSize, width, channels } = { ...DCGAN_DEFAULTS, ...opts };
    this.latentSize = latentSize;
    this.block1 = new Sequential(new ConvTranspose2d(latentSize, 2 * width, 7, { bias: false }), new BatchNorm2d(2 * width), new ReLU());
    this.block2 = new Sequential(new ConvTranspose2d(2 * width, width, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(width), new ReLU());
    this.toImage = new Sequential(new ConvTranspose2d(width, channels, 4, { stride: 2, padding: 1 }), new Tanh());
    initDcgan(this);
  }
  /** z: [B, latentSize] -> images [B, channels, 28, 28] in [-1, 1]. */
  forward(z: Tensor): Tensor {
    if (z.shape.length !== 2 || z.shape[1] !== this.latentSize)
      throw new Error(`glassbox.DcganGenerator: expects latents [batch, ${this.latentSize}], got [${z.shape.join(', ')}]`);
    return this.toImage.forward(this.block2.forward(this.block1.forward(z.reshape([z.shape[0]!, this.latentSize, 1, 1]))));
  }
}

export class DcganDiscriminator extends Module {
  features: Sequential;
  score: Conv2d;
  constructor(opts: DcganOptions = {}) {
    super();
    const { width, channels, discriminatorNorm } = { ...DCGAN_DEFAULTS, ...opts };
    const batchNorm = discriminatorNorm === 'batch';
    this.features = new Sequential(
      new Conv2d(channels, width, 4, { stride: 2, padding: 1 }),
      new LeakyReLU(0.2),
      // without batch norm the conv keeps its bias
      new Conv2d(width, 2 * width, 4, { stride: 2, padding: 1, bias: !batchNorm }),
      ...(batchNorm ? [new BatchNorm2d(2 * width)] : []),
      new LeakyReLU(0.2),
    );
    this.score = new Conv2d(2 * width, 1, 7);
    // a WGAN-GP critic keeps the layers' default (He-style) initialisation, as Gulrajani et al.'s code:
    // with DCGAN's N(0, 0.02) it starts almost constant, its input gradient near 0 and the penalty at lambda
    if (batchNorm) initDcgan(this);
  }
  /** images [B, channels, 28, 28] in [-1, 1] -> logits [B] (real > 0). */
  forward(x: Tensor): Tensor {
    const s = this.score.forward(this.features.forward(x));
    return s.reshape([s.shape[0]!]);
  }
}

/** The generator and discriminator together: what `glassbox gan train` saves and resumes. */
export class Dcgan extends Module {
  generator: DcganGenerator;
  discriminator: DcganDiscriminator;
  constructor(readonly options: DcganOptions = {}) {
    super();
    this.generator = new DcganGenerator(options);
    this.discriminator = new DcganDiscriminator(options);
  }
  forward(z: Tensor): Tensor {
    return this.generator.forward(z);
  }
}

/** Radford et al.'s initialisation, in place. */
function initDcgan(net: Module): void {
  noGrad(() => {
    for (const [, m] of net.namedModules()) {
      if (m instanceof Conv2d || m instanceof ConvTranspose2d) {
        m.weight.assign(normal(m.weight.shape, 0, 0.02));
        if (m.bias) m.bias.assign(zeros(m.bias.shape));
      } else if (m instanceof BatchNorm2d) {
        m.weight!.assign(normal(m.weight!.shape, 1, 0.02));
        m.bias!.assign(zeros(m.bias!.shape));
      }
    }
  });
}
