/**
 * ResNet with basic blocks (He et al. 2015), named exactly like torchvision's, so a torchvision
 * state dict loads with `loadSafetensors(model, bytes, { from: 'pytorch' })`: conv1, bn1, layer1.0.conv1,
 * layer2.0.downsample.0 / .1, fc. Stem: 7x7 stride-2 conv, batch norm, ReLU, 3x3 stride-2 max pool;
 * then four stages of blocks (stages 2-4 halve the resolution), global average pooling, linear.
 * `resnet18()` and `resnet34()` are torchvision's block counts at its widths 64-128-256-512.
 */
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, MaxPool2d } from '../conv-layers.ts';
import { Linear, ReLU, Sequential } from '../layers.ts';
import { Module } from '../module.ts';
import { add, relu } from '../../tensor/ops/elementwise.ts';
import { flatten } from '../../tensor/ops/views.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Two 3x3 conv-bn pairs with a residual connection; `downsample` (1x1 conv + bn) matches the shortcut's shape when the block changes it. */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu: ReLU;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;
  constructor(
    readonly inPlanes: number,
    readonly planes: number,
    readonly stride = 1,
  ) {
    super();
    this.conv1 = new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = new BatchNorm2d(planes);
    this.relu = new ReLU();
    this.conv2 = new Conv2d(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = stride !== 1 || inPlanes !== planes ? new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)) : null;
  }
  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return relu(add(out, identity));
  }
}

export interface ResNetOptions {
  /** Blocks per stage (default [2, 2, 2, 2]: ResNet-18). */
  blocks?: readonly [number, number, number, number];
  /** Channels per stage (default [64, 128, 256, 512]); the stem has widths[0]. */
  widths?: readonly [number, number, number, number];
  classes?: number;
  inChannels?: number;
}

export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  relu: ReLU;
  maxpool: MaxPool2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;
  constructor(opts: ResNetOptions = {}) {
    super();
    const blocks = opts.blocks ?? [2, 2, 2, 2];
    const widths = opts.widths ?? [64, 128, 256, 512];
    this.conv1 = new Conv2d(opts.inChannels ?? 3, widths[0], 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = new BatchNorm2d(widths[0]);
    this.relu = new ReLU();
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    let inPlanes = widths[0];
    const stage = (i: number) => {
      const planes = widths[i]!;
      const layer = new Sequential(...Array.from({ length: blocks[i]! }, (_, j) => new BasicBlock(j === 0 ? inPlanes : planes, planes, j === 0 && i > 0 ? 2 : 1)));
      inPlanes = planes * BasicBlock.expansion;
      return layer;
    };
    this.layer1 = stage(0);
    this.layer2 = stage(1);
    this.layer3 = stage(2);
    this.layer4 = stage(3);
    this.avgpool = new AdaptiveAvgPool2d(1);
    this.fc = new Linear(inPlanes, opts.classes ?? 1000);
  }
  forward(x: Tensor): Tensor {
    let h = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) h = layer.forward(h);
    return this.fc.forward(flatten(this.avgpool.forward(h), 1));
  }
}

export const resnet18 = (opts: Omit<ResNetOptions, 'blocks'> = {}) => new ResNet({ ...opts, blocks: [2, 2, 2, 2] });
export const resnet34 = (opts: Omit<ResNetOptions, 'blocks'> = {}) => new ResNet({ ...opts, blocks: [3, 4, 6, 3] });
