// The initial weights that `glassbox train --model mixture-net --seed N` starts from, as safetensors,
// for `bench/peers/mixture_torch.py --init FILE` (PyTorch from glassbox's start):
//   node scripts/run-ts.mjs bench/peers/mixture-init.ts [seed] [file]   (default: seed 2, runs/mixture-torch/init-s2.safetensors)
// The CLI seeds the generator right before it builds the model, as here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { init, manualSeed } from '../../src/index.ts';
import { MODEL_ZOO } from '../../src/nn/models/zoo.ts';
import { saveSafetensors } from '../../src/nn/safetensors.ts';

await init();
const seed = Number(process.argv[2] ?? 2);
const file = process.argv[3] ?? `${process.env.MIXTURE_TORCH_DIR ?? 'runs/mixture-torch'}/init-s${seed}.safetensors`;
manualSeed(seed);
const net = MODEL_ZOO['mixture-net']!.build({ channels: 1, height: 56, width: 56, classes: 45 });
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, await saveSafetensors(net));
console.log(`wrote ${file}: ${[...net.stateDict().keys()].join(', ')}`);
process.exit(0);
