/**
 * The mixture-of-MNIST network (catalogue E3): conv(10) - conv(20) - conv(10) - global average
 * pooling - linear to the pair classes. Global average pooling right before the classifier makes
 * CAM exact: the logit of class k is the average over positions of w_k . features(x, y).
 * Variants: dropout on conv3's channels, and every conv width times 3. All kernels are 3x3
 * (the slides fix only the widths), with 2x2 max pooling after conv1 and conv2: for 56x56
 * inputs the last feature map is 14x14, fine enough to localise two digits.
 */
import { AdaptiveAvgPool2d, Conv2d, Dropout, MaxPool2d } from '../conv-layers.ts';
import { Flatten, Linear, ReLU, Sequential } from '../layers.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export interface MixtureNetOptions {
  classes?: number;
  /** Multiplies every conv layer's width (the "wide" variant uses 3). */
  width?: number;
  /** Dropout probability on conv3's output (0 = off). */
  dropout?: number;
}

export class MixtureNet extends Module {
  features: Sequential;
  pool: AdaptiveAvgPool2d;
  flatten: Flatten;
  fc: Linear;
  constructor(opts: MixtureNetOptions = {}) {
    super();
    const w = opts.width ?? 1;
    const layers: Module[] = [
      new Conv2d(1, 10 * w, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(10 * w, 20 * w, 3, { padding: 1 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(20 * w, 10 * w, 3, { padding: 1 }),
      new ReLU(),
    ];
    if (opts.dropout) layers.push(new Dropout(opts.dropout));
    this.features = new Sequential(...layers);
    this.pool = new AdaptiveAvgPool2d(1);
    this.flatten = new Flatten();
    this.fc = new Linear(10 * w, opts.classes ?? 45);
  }
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.flatten.forward(this.pool.forward(this.features.forward(x))));
  }
}
