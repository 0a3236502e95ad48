/** A multilayer perceptron on flattened inputs. */
import { Flatten, Linear, ReLU, Sequential } from '../layers.ts';
import type { Module } from '../module.ts';

export class MLP extends Sequential {
  constructor(inputs: number, hidden: readonly number[], classes: number) {
    const layers: Module[] = [new Flatten()];
    let width = inputs;
    for (const h of hidden) {
      layers.push(new Linear(width, h), new ReLU());
      width = h;
    }
    layers.push(new Linear(width, classes));
    super(...layers);
  }
}
