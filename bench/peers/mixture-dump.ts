// Writes glassbox's mixture-of-MNIST images (train 20,000 and validation 5,000, uint8 NCHW) and
// labels to runs/mixture-torch/ (or MIXTURE_TORCH_DIR) for bench/peers/mixture_torch.py.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../datasets/index.ts';

const dir = process.env.MIXTURE_TORCH_DIR ?? 'runs/mixture-torch';
mkdirSync(join(dir, 'logs'), { recursive: true });
const meta: Record<string, unknown> = {};
for (const split of ['train', 'validation'] as const) {
  const d = await loadDataset('mnist-mixture', { split, masks: false });
  writeFileSync(join(dir, `${split}-images.u8`), d.images);
  writeFileSync(join(dir, `${split}-labels.u8`), d.labels);
  meta[split] = { n: d.n, channels: d.channels, height: d.height, width: d.width, classes: d.classes.length };
}
writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 1));
console.log(`wrote ${dir}: ${JSON.stringify(meta)}`);
