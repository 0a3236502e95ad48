/**
 * The DCGAN trained with the engine (src/gan/train.ts) and the unit interventions of GAN dissection:
 * a short training on a small MNIST subset lowers the Frechet distance to real images in the
 * trained LeNet-5's feature space against the untrained generator; a unit edit in a forward hook
 * changes exactly the chosen channels; bad unit indices and non-generator checkpoints are refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { ClassifierFrechet } from '../src/gan/frechet.ts';
import { datasetImages } from '../src/gan/images.ts';
import { fixedLatents, ganConfig, newGan, trainGan } from '../src/gan/train.ts';
import { GanDissection, generatorLayer, registerUnitEdit, strokeMasks } from '../src/gan/dissect.ts';
import { LatentWalk } from '../src/gan/walk.ts';
import { loadGenerator } from '../src/cli/gan.ts';
import { DcganGenerator } from '../src/nn/models/dcgan.ts';
import { saveSafetensors } from '../src/nn/safetensors.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { trainedModel } from './trained-models.ts';

beforeAll(async () => {
  await gb.init();
});

describe('DCGAN training', () => {
  it('a short training lowers the classifier-feature Frechet distance to real images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gan-'));
    const config = ganConfig({ dataset: 'mnist', epochs: 1, batchSize: 32, lr: 2e-3, width: 16, latentSize: 16, limit: 2560, seed: 1 });
    const untrained = newGan(config).gan;
    const history = await trainGan({ out, config, log: () => {} });
    expect(history).toHaveLength(1);
    const { gan } = await loadGenerator(out);
    const lenet = await trainedModel('lenet-mnist');
    const fd = new ClassifierFrechet(lenet.model, { mean: lenet.mean, std: lenet.std });
    const real = datasetImages(await datasetSpec('mnist').load('validation', 300));
    const z = gb.randn([300, 16]);
    const [before, after] = [new LatentWalk(untrained.generator).generate(z), new LatentWalk(gan.generator).generate(z)];
    const dBefore = await fd.distance(real, before);
    const dAfter = await fd.distance(real, after);
    expect(dAfter).toBeLessThan(0.5 * dBefore);
    for (const t of [real, z, before, after]) t.dispose();
  }, 300_000);

  it('refuses a file that is not a generator', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gan-bad-'));
    const file = join(dir, 'lenet.safetensors');
    writeFileSync(file, Buffer.from(await saveSafetensors((await trainedModel('lenet-mnist')).model)));
    await expect(loadGenerator(file)).rejects.toThrow(/is not a generator/);
  });
});

describe('unit interventions', () => {
  it('zeroing units in a hook changes exactly those channels', async () => {
    gb.manualSeed(0);
    const g = new DcganGenerator({ latentSize: 8, width: 4 }).eval();
    const layer = generatorLayer(g, 'block2');
    const z = gb.randn([3, 8]);
    let captured: gb.Tensor | undefined;
    const capture = () => layer.registerForwardHook((_m, _i, out) => void (captured = gb.keep(out)));
    let remove = capture();
    gb.noGrad(() => g.forward(z));
    remove();
    const plain = (await captured!.toArray()) as Float32Array;
    const removeEdit = registerUnitEdit(layer, 4, { units: [1, 3], mode: 'off' });
    remove = capture();
    gb.noGrad(() => g.forward(z));
    remove();
    removeEdit();
    const edited = (await captured!.toArray()) as Float32Array;
    const [n, c, hw] = [3, 4, 14 * 14];
    let changedElsewhere = 0;
    let nonzeroInEdited = 0;
    let active = 0;
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let j = 0; j < hw; j++) {
          const k = (i * c + ch) * hw + j;
          if (ch === 1 || ch === 3) {
            if (edited[k] !== 0) nonzeroInEdited++;
            if (plain[k] !== 0) active++;
          } else if (edited[k] !== plain[k]) changedElsewhere++;
        }
    expect(active).toBeGreaterThan(0); // the edited channels were not already zero
    expect(nonzeroInEdited).toBe(0);
    expect(changedElsewhere).toBe(0);
    expect(() => registerUnitEdit(layer, 4, { units: [4], mode: 'off' })).toThrow(/unit 4 is out of range; the layer has 4 units \(0 to 3\)/);
    expect(() => generatorLayer(g, 'block3')).toThrow(/use one of block1, block2/);
  });

  it("dissection tallies the loops like the other parts; switching every unit off opens every loop, none keeps them all", async () => {
    gb.manualSeed(3);
    // untrained: tanh of small values, about half the pixels above 0 at random, so many enclosed holes
    const g = new DcganGenerator({ latentSize: 8, width: 4 }).eval();
    const dissection = new GanDissection(g, { layer: 'block1', samples: 40 });
    const probe = await dissection.generate(fixedLatents(5, 8, 1));
    const loops = Array.from({ length: 5 }, (_, i) => strokeMasks(probe.images.subarray(i * 784, (i + 1) * 784), 28, 28).loop.reduce((a, v) => a + v, 0));
    expect(Math.min(...loops)).toBeGreaterThan(0);
    const units = await dissection.dissect();
    expect(units).toHaveLength(8);
    for (const u of units) expect(u.iou.loop).toBeGreaterThanOrEqual(0), expect(u.iou.loop).toBeLessThanOrEqual(1);
    expect(Math.max(...units.map((u) => u.iou.loop))).toBeGreaterThan(0);
    const none = await dissection.partEffect('loop', [], { samples: 20 });
    expect(none.partInkRemoved).toBe(0);
    // every unit off: block2 gets zeros, which the untrained batch norms (bias 0, running mean 0) and the
    // bias-free convs keep at 0: every image is 0 everywhere, no ink, nothing enclosed
    const all = await dissection.partEffect('loop', [0, 1, 2, 3, 4, 5, 6, 7], { samples: 20 });
    expect(all.partInkRemoved).toBe(1);
  });
});
