// conv3's channels that never fire on the first 500 validation images, for a mixture-net checkpoint
// written by `glassbox train` (the same count as bench/peers/mixture_torch.py's dead_conv3_channels):
//   node scripts/run-ts.mjs bench/peers/mixture-dead.ts runs/<run>/model.safetensors [...]
import { readFileSync } from 'node:fs';
import { gt, init, mean, noGrad } from '../../src/index.ts';
import { MODEL_ZOO } from '../../src/nn/models/zoo.ts';
import { MixtureNet } from '../../src/nn/models/mixture-net.ts';
import { loadSafetensors } from '../../src/nn/safetensors.ts';
import { DataLoader, NORMALISATION } from '../../src/train/data-loader.ts';
import { loadDataset } from '../../datasets/index.ts';

await init();
const validation = await loadDataset('mnist-mixture', { split: 'validation', masks: false });
const batch = new DataLoader(validation, { batchSize: 500, ...NORMALISATION['mnist-mixture']! }).batches(0).next().value!;
for (const file of process.argv.slice(2)) {
  const net = MODEL_ZOO['mixture-net']!.build({ channels: 1, height: 56, width: 56, classes: 45 }) as MixtureNet;
  loadSafetensors(net, new Uint8Array(readFileSync(file)));
  net.eval();
  const fired = await noGrad(() => mean(gt(net.features.forward(batch.x), 0).float(), { dim: [0, 2, 3] })).toArray();
  const dead = Array.from(fired).filter((f) => f === 0).length;
  console.log(`${file}: ${dead} of ${fired.length} conv3 channels never fire (fraction firing per channel: ${Array.from(fired).map((f) => f.toFixed(2)).join(' ')})`);
}
process.exit(0);
