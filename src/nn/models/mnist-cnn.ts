/**
 * The MNIST CNN of PyTorch's examples (mnist/main.py), with its field names, so its state dict
 * loads with `loadSafetensors(model, bytes, { from: 'pytorch' })`: conv 32@3x3, ReLU, conv 64@3x3,
 * ReLU, 2x2 max pool, dropout 0.25, flatten (9216), fc 128, ReLU, dropout 0.5, fc 10.
 * forward returns logits; the example's final log_softmax is left to the loss (crossEntropy).
 */
import { Conv2d, Dropout } from '../conv-layers.ts';
import { Linear } from '../layers.ts';
import { Module } from '../module.ts';
import { relu } from '../../tensor/ops/elementwise.ts';
import { reluMaxPool2d } from '../../tensor/ops/pool.ts';
import { flatten } from '../../tensor/ops/views.ts';
import type { Tensor } from '../../tensor/tensor.ts';

export class MnistCnn extends Module {
  conv1 = new Conv2d(1, 32, 3);
  conv2 = new Conv2d(32, 64, 3);
  dropout1 = new Dropout(0.25);
  dropout2 = new Dropout(0.5);
  fc1 = new Linear(9216, 128);
  fc2: Linear;
  constructor(classes = 10) {
    super();
    this.fc2 = new Linear(128, classes);
  }
  /** x: [N, 1, 28, 28] -> logits [N, classes]. */
  forward(x: Tensor): Tensor {
    // relu then 2x2 max pooling, in one op
    let h = this.dropout1.forward(reluMaxPool2d(this.conv2.forward(relu(this.conv1.forward(x))), { kernelSize: 2 }));
    h = this.dropout2.forward(relu(this.fc1.forward(flatten(h, 1))));
    return this.fc2.forward(h);
  }
}
