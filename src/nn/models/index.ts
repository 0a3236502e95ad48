/**
 * The `models` namespace: the zoo's architectures as classes and by name.
 * `models.create('lenet5', {channels: 1, height: 28, width: 28, classes: 10})` builds what
 * `glassbox train --model lenet5` trains; `models.lenet5()` is the same for MNIST-sized input.
 * A trained model comes back whole from its file with `loadModel(path)` (glassbox/node).
 */
import { modelEntry, MODEL_ZOO, type InputSpec } from './zoo.ts';
import type { Module } from '../module.ts';

export { CifarNet } from './cifar-net.ts';
export { LeNet5 } from './lenet.ts';
export { LinearClassifier } from './linear.ts';
export { MixtureNet, type MixtureNetOptions } from './mixture-net.ts';
export { MLP } from './mlp.ts';
export { MnistCnn } from './mnist-cnn.ts';
export { ResNet, BasicBlock, resnet18, resnet34, type ResNetOptions } from './resnet.ts';
export { MODEL_ZOO, type InputSpec, type Recipe, type ZooEntry } from './zoo.ts';

const MNIST_INPUT: InputSpec = { channels: 1, height: 28, width: 28, classes: 10 };
const CIFAR_INPUT: InputSpec = { channels: 3, height: 32, width: 32, classes: 10 };

/** The zoo's model `name` for images of `input`'s shape (default: MNIST's 1x28x28, 10 classes). */
export function create(name: string, input: Partial<InputSpec> = {}): Module {
  if (typeof name !== 'string') throw new Error(`glassbox.models.create: the name must be a string, one of ${Object.keys(MODEL_ZOO).join(', ')}`);
  return modelEntry(name).build({ ...MNIST_INPUT, ...input });
}

/** The zoo's names. */
export const names = (): string[] => Object.keys(MODEL_ZOO);

export const lenet5 = (input: Partial<InputSpec> = {}) => create('lenet5', input);
export const mlp = (input: Partial<InputSpec> = {}) => create('mlp', input);
export const mnistCnn = (input: Partial<InputSpec> = {}) => create('mnist-cnn', input);
export const softmaxRegression = (input: Partial<InputSpec> = {}) => create('softmax-regression', input);
export const mixtureNet = (input: Partial<InputSpec> = {}) => create('mixture-net', { height: 56, width: 56, classes: 45, ...input });
export const cifarNet = (input: Partial<InputSpec> = {}) => create('cifar-net', { ...CIFAR_INPUT, ...input });
export const resnet18Narrow = (input: Partial<InputSpec> = {}) => create('resnet18-narrow', { ...CIFAR_INPUT, ...input });
