/**
 * `glassbox symmetry`: D1 on a trained net (src/xai/weightspace/symmetry.ts). Applies a random
 * permutation of every hidden layer's units with random positive rescaling, and measures how
 * much the weights moved and how little the outputs did (on validation images); computes the
 * canonical form of the net and of its transformed copy (equal) and, with --model-b, of another
 * net (different). Writes symmetry.json, units.png (the first layer's units in each of the four
 * nets), symmetry.md and report.html.
 */
import { tensor } from '../tensor/ops/creation.ts';
import { noGrad } from '../autograd/node.ts';
import { datasetSpec } from '../train/datasets.ts';
import { makeGrid } from '../viz/grid.ts';
import { unitTiles } from '../xai/weightspace/pictures.ts';
import { maxStateDifference, readState, writeState, type WeightState } from '../xai/weightspace/state.ts';
import { ReluSymmetry } from '../xai/weightspace/symmetry.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadTrained } from './explain-setup.ts';

/** Logits of `state` on the images (normalised), in batches of 500. */
async function logitsOf(sym: ReluSymmetry, state: WeightState, images: Float32Array, shape: number[]): Promise<Float32Array> {
  sym.apply(state);
  const per = shape.reduce((a, b) => a * b, 1);
  const n = images.length / per;
  const parts: Float32Array[] = [];
  for (let i = 0; i < n; i += 500) {
    const count = Math.min(500, n - i);
    const x = tensor(images.subarray(i * per, (i + count) * per), [count, ...shape]);
    parts.push(Float32Array.from(await noGrad(() => sym.model.forward(x)).toArrayAndDispose()));
    x.dispose();
  }
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function compareLogits(a: Float32Array, b: Float32Array, classes: number): { maxAbsDifference: number; relative: number; sameArgmax: number } {
  let diff = 0;
  let scale = 0;
  let same = 0;
  const n = a.length / classes;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  for (let r = 0; r < n; r++) {
    let ia = 0;
    let ib = 0;
    for (let k = 1; k < classes; k++) {
      if (a[r * classes + k]! > a[r * classes + ia]!) ia = k;
      if (b[r * classes + k]! > b[r * classes + ib]!) ib = k;
    }
    if (ia === ib) same++;
  }
  return { maxAbsDifference: diff, relative: diff / scale, sameArgmax: same / n };
}

export async function symmetryCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const path = stringOption(o, 'model', '');
  if (!path) throw new UsageError('give --model <run folder> (a net trained by glassbox train)');
  const loaded = await loadTrained(path, o.arch as string | undefined, o.dataset as string | undefined);
  const spec = datasetSpec(loaded.dataset);
  const data = await spec.load('validation', numberOption(o, 'n', 1000));
  const shape = [data.channels, data.height, data.width];
  const sym = await ReluSymmetry.create(loaded.model, shape);
  const seed = numberOption(o, 'seed', 0);
  const spread = numberOption(o, 'spread', 1);
  const original = await sym.state();
  const symmetry = sym.random(seed, spread);
  const moved = sym.transform(original, symmetry);
  const canonical = sym.canonicalForm(original).state;
  const canonicalMoved = sym.canonicalForm(moved).state;
  let other: { path: string; canonical: WeightState } | undefined;
  if (o['model-b'] !== undefined) {
    const b = await loadTrained(stringOption(o, 'model-b', ''), o.arch as string | undefined, loaded.dataset);
    if (b.arch !== loaded.arch) throw new UsageError(`--model is a ${loaded.arch} and --model-b a ${b.arch}: canonical forms compare nets of one architecture`);
    other = { path: stringOption(o, 'model-b', ''), canonical: sym.canonicalForm(await readState(b.model)).state };
  }
  const images = Float32Array.from(data.images, (v, i) => (v / 255 - spec.mean[Math.floor(i / (data.height * data.width)) % data.channels]!) / spec.std[Math.floor(i / (data.height * data.width)) % data.channels]!);
  const classes = data.classes.length;
  const base = await logitsOf(sym, original, images, shape);
  const afterSymmetry = compareLogits(base, await logitsOf(sym, moved, images, shape), classes);
  const afterCanonical = compareLogits(base, await logitsOf(sym, canonical, images, shape), classes);
  writeState(loaded.model, original);
  const weightsMoved = maxStateDifference(original, moved);
  const canonicalGap = maxStateDifference(canonical, canonicalMoved);
  const otherGap = other && maxStateDifference(canonical, other.canonical);

  const out = stringOption(o, 'out', `runs/symmetry-${loaded.arch}-${loaded.dataset}`);
  const output = new CommandOutput(out, `ReLU symmetries of ${loaded.arch} (${loaded.dataset})`);
  const first = sym.graph.groups[0]!;
  const w = `${first.layer}.weight`;
  const rows: Array<[string, WeightState]> = [['net', original], ['permuted + rescaled', moved], ['canonical form of net', canonical], ['canonical form of the transformed net', canonicalMoved], ...(other ? [['canonical form of --model-b', other.canonical] as [string, WeightState]] : [])];
  const count = Math.min(first.size, 16);
  const tiles = rows.flatMap(([, s]) => unitTiles(s.values.get(w)!, s.shapes.get(w)!, count, [data.height, data.width]));
  output.png('units.png', makeGrid(tiles, { cols: count, rowTitles: rows.map(([n]) => n), title: `${first.layer}: the first ${count} units (incoming weights, blue < 0 < red)` }), 'the first layer\'s units: a random symmetry reorders and rescales them; both canonical forms agree');
  const e = (v: number) => v.toExponential(2);
  output.table(
    'symmetry.md',
    [
      ['check', 'value'],
      ['largest weight change by the random symmetry', `${e(weightsMoved.difference)} (${weightsMoved.name})`],
      [`largest logit change on ${data.n} validation images`, `${e(afterSymmetry.maxAbsDifference)} (relative ${e(afterSymmetry.relative)}), same prediction on ${(100 * afterSymmetry.sameArgmax).toFixed(2)}%`],
      ['largest logit change of the canonical form', `${e(afterCanonical.maxAbsDifference)} (relative ${e(afterCanonical.relative)})`],
      ['canonical(net) vs canonical(transformed net), largest difference', `${e(canonicalGap.difference)} (${canonicalGap.name || '-'})`],
      ...(otherGap ? [['canonical(net) vs canonical(--model-b), largest difference', `${e(otherGap.difference)} (${otherGap.name})`]] : []),
    ],
    'a random permutation of every hidden layer plus positive rescaling (factors e^N(0, spread^2)) moves the weights a lot and the outputs by float rounding only',
  );
  output.json('symmetry.json', {
    model: path,
    modelB: other?.path ?? null,
    arch: loaded.arch,
    dataset: loaded.dataset,
    images: data.n,
    seed,
    spread,
    groups: sym.graph.groups.map((g) => ({ layer: g.layer, kind: g.kind, units: g.size, batchNorm: g.batchNorm ?? null, scaled: g.scaled, consumer: g.consumer })),
    weightsMoved,
    afterSymmetry,
    afterCanonical,
    canonicalGap,
    otherGap: otherGap ?? null,
  });
  output.finish();
  console.log(`random symmetry: weights moved by up to ${e(weightsMoved.difference)}, logits by ${e(afterSymmetry.maxAbsDifference)} (relative ${e(afterSymmetry.relative)}); canonical forms of the two: ${e(canonicalGap.difference)} apart${otherGap ? `; of --model and --model-b: ${e(otherGap.difference)} apart` : ''}`);
  console.error(`wrote ${out}/units.png, symmetry.json, symmetry.md, report.html`);
}
