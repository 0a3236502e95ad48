/**
 * Writes the lab's MNIST subset: `node scripts/run-ts.mjs lab/make-subset.ts <out.bin>` (run by
 * scripts/build-lab.mjs). The first TRAIN training and TEST test images of MNIST, read by the
 * project's own loader (GLASSBOX_DATA, ../shared/datasets, or a download), in one small file the
 * page fetches: the layout is lab/src/subset-format.ts's.
 */
import { writeFileSync } from 'node:fs';
import { loadMnist } from '../datasets/index.ts';
import { SUBSET, encodeSubset } from './src/subset-format.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/run-ts.mjs lab/make-subset.ts <out.bin>');
const train = await loadMnist({ split: 'train', limit: SUBSET.train });
const test = await loadMnist({ split: 'test', limit: SUBSET.test });
writeFileSync(out, encodeSubset(train.images, train.labels, test.images, test.labels));
console.error(`lab: wrote ${out} (${train.n} training and ${test.n} test MNIST images)`);
