/** The nets the training benchmarks run (bench/training.ts, bench/step-kernels.ts), with their inputs. */
import type { InputSpec } from '../src/nn/models/zoo.ts';
import type { NetName } from './peers/tfjs_nets.ts';

export const NETS: Record<NetName, InputSpec> = {
  lenet5: { channels: 1, height: 28, width: 28, classes: 10 },
  'mnist-cnn': { channels: 1, height: 28, width: 28, classes: 10 },
  'cifar-net': { channels: 3, height: 32, width: 32, classes: 10 },
};
