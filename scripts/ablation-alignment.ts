// E3/E5: correlation of a unit's ablation effect with its alignment (units-dissect's AUC) on a trained mixture net.
// node scripts/run-ts.mjs scripts/ablation-alignment.ts <run folder> <out.json>
import { writeFileSync } from 'node:fs';
import * as gb from '../src/index.ts';
import type { MixtureDataset } from '../datasets/mixture-mnist.ts';
import { loadTrained } from '../src/cli/explain-setup.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { mixtureClassDigits, unitAblationEffects } from '../src/xai/units/ablation.ts';
import { digitConcepts } from '../src/xai/units/concepts.ts';
import { UnitDissection } from '../src/xai/units/dissection.ts';
await gb.init();
const [run, outFile] = process.argv.slice(2) as [string, string];
const loaded = await loadTrained(run);
const spec = datasetSpec(loaded.dataset);
const data = (await spec.load('validation', 5000, { masks: true })) as MixtureDataset;
const images = gb.tensor(Float32Array.from(data.images, (v) => v / 255), [data.n, 1, data.height, data.width]);
const normalization = { mean: spec.mean, std: spec.std };
const layer = 'features.7';
const [d] = await new UnitDissection(loaded.model, { layers: [layer], normalization }).dissect(images, digitConcepts(data));
const sweep = await unitAblationEffects(loaded.model, images, data.labels, { layer, normalization, classDigits: mixtureClassDigits(data.variant) });
const pearson = (x: number[], y: number[]) => {
  const mx = x.reduce((a, b) => a + b, 0) / x.length, my = y.reduce((a, b) => a + b, 0) / y.length;
  let sxy = 0, sxx = 0, syy = 0;
  x.forEach((xi, i) => ((sxy += (xi - mx) * (y[i]! - my)), (sxx += (xi - mx) ** 2), (syy += (y[i]! - my) ** 2)));
  return sxy / Math.sqrt(sxx * syy);
};
const rank = (x: number[]) => { const o = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]); const r = new Array(x.length); o.forEach(([, i], k) => (r[i] = k)); return r as number[]; };
const spearman = (x: number[], y: number[]) => pearson(rank(x), rank(y));
const units = d!.detectors.map((det) => {
  const digit = det.concept >= 0 ? det.concept : det.concepts.reduce((b, c, k) => (c.auc > det.concepts[b]!.auc ? k : b), 0);
  return { unit: det.unit, digit, clean: det.clean, alignment: det.concepts[digit]!.auc, precision: det.concepts[digit]!.precision, ablationDrop: sweep.effects[det.unit]!.digitDrop![digit]!, overallDrop: -sweep.effects[det.unit]!.accuracyChange };
});
const pairs: { unit: number; digit: number; auc: number; drop: number }[] = [];
d!.detectors.forEach((det) => det.concepts.forEach((c, k) => Number.isFinite(c.auc) && pairs.push({ unit: det.unit, digit: k, auc: c.auc, drop: sweep.effects[det.unit]!.digitDrop![k]! })));
const result = {
  run, layer, images: data.n, baseline: sweep.baseline.accuracy,
  meanDropPerUnit: sweep.effects.reduce((a, e) => a - e.accuracyChange, 0) / sweep.effects.length,
  units,
  perUnit: { pearson: pearson(units.map((u) => u.alignment), units.map((u) => u.ablationDrop)), spearman: spearman(units.map((u) => u.alignment), units.map((u) => u.ablationDrop)) },
  allPairs: { n: pairs.length, pearson: pearson(pairs.map((p) => p.auc), pairs.map((p) => p.drop)), spearman: spearman(pairs.map((p) => p.auc), pairs.map((p) => p.drop)) },
};
writeFileSync(outFile, JSON.stringify(result, null, 2));
console.log(JSON.stringify({ ...result, units: units.map((u) => `${u.unit}:d${u.digit} auc ${u.alignment.toFixed(3)} drop ${u.ablationDrop.toFixed(3)}`) }, null, 1));
