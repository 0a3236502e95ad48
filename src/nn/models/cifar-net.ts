/**
 * A small VGG-style CIFAR-10 net with batch norm: [conv-bn-relu] x2 per stage at widths
 * 32, 64, 128, max pooling between stages, global average pooling, linear classifier.
 */
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, MaxPool2d } from '../conv-layers.ts';
import { Flatten, Linear, ReLU, Sequential } from '../layers.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../../tensor/tensor.ts';

function stage(inC: number, outC: number): Module[] {
  return [
    new Conv2d(inC, outC, 3, { padding: 1, bias: false }),
    new BatchNorm2d(outC),
    new ReLU(),
    new Conv2d(outC, outC, 3, { padding: 1, bias: false }),
    new BatchNorm2d(outC),
    new ReLU(),
  ];
}

export class CifarNet extends Module {
  features: Sequential;
  classifier: Sequential;
  constructor(classes = 10, widths: readonly [number, number, number] = [32, 64, 128]) {
    super();
    const [a, b, c] = widths;
    this.features = new Sequential(...stage(3, a), new MaxPool2d(2), ...stage(a, b), new MaxPool2d(2), ...stage(b, c));
    this.classifier = new Sequential(new AdaptiveAvgPool2d(1), new Flatten(), new Linear(c, classes));
  }
  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.features.forward(x));
  }
}
