/**
 * LeNet-5 (LeCun et al. 1998) with today's ReLU and max pooling: conv 6@5x5 (padding 2 keeps
 * 28x28), pool, conv 16@5x5, pool, fc 120, fc 84, fc classes.
 */
import { Conv2d, MaxPool2d } from '../conv-layers.ts';
import { Flatten, Linear, ReLU, Sequential } from '../layers.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export class LeNet5 extends Module {
  features: Sequential;
  classifier: Sequential;
  constructor(inChannels = 1, classes = 10, imageSize = 28) {
    super();
    this.features = new Sequential(
      new Conv2d(inChannels, 6, 5, { padding: 2 }),
      new ReLU(),
      new MaxPool2d(2),
      new Conv2d(6, 16, 5),
      new ReLU(),
      new MaxPool2d(2),
    );
    const side = Math.floor((imageSize / 2 - 4) / 2);
    this.classifier = new Sequential(new Flatten(), new Linear(16 * side * side, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, classes));
  }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
