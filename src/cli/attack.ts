/**
 * `glassbox attack`: adversarial examples against a trained model (catalogue row C1). For each attack
 * and budget it writes into --out
 *   attack.json        every number: accuracy and success rate per attack and epsilon, distortions, the checks
 *   accuracy-linf.png  accuracy (solid) and success rate (dashed) against the L-inf epsilon, one colour per attack
 *   accuracy-l2.png    the same against the L2 epsilon (pgd-l2, and cw / lbfgs by their smallest perturbations)
 *   examples.png       per attack: x, the perturbation amplified, x + delta, with both predictions
 *   checks.md          the checks against gradient masking, as a table (also printed)
 *   report.html        the pictures, the accuracy table and the checks on one page
 */
import { join } from 'node:path';
import { manualSeed, tensor } from '../tensor/ops/creation.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { chwToImage } from '../viz/image.ts';
import { makeGrid } from '../viz/grid.ts';
import { linePlot, type Series } from '../viz/plot.ts';
import { ATTACK_BUDGET, checkAttackNames, makeAttack, PGD, PixelModel, accuracyOn, attackOutcome, epsilonMonotone, scoreOutcome, type AttackName, type AttackOutcome, type MaskingCheck } from '../xai/attacks/index.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { markdownTable } from './report.ts';
import { loadForVisualization } from './visualize.ts';

/** A comma-separated list of numbers in [min, max]. */
function numberList(o: ParsedArgs['options'], name: string, fallback: string, min: number, max: number, what: string): number[] {
  const text = stringOption(o, name, fallback);
  const values = text.split(',').map((s) => Number(s.trim()));
  const bad = values.findIndex((v, i) => text.split(',')[i]!.trim() === '' || !(v >= min && v <= max));
  if (bad >= 0) throw new UsageError(`--${name} ${text}: '${text.split(',')[bad]!.trim()}' is out of range; ${what}`);
  return values;
}

interface BudgetPoint {
  eps: number;
  accuracy: number;
  successRate: number;
  meanLinf: number;
  meanL2: number;
}

interface AttackResult {
  attack: AttackName;
  budget: 'linf' | 'l2' | 'minimum-l2';
  seconds: number;
  points: BudgetPoint[];
  /** cw / lbfgs: the median L2 of the successful perturbations. */
  medianL2?: number;
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
const median = (v: readonly number[]) => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]! : NaN);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export async function attackCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  let names: AttackName[];
  try {
    names = checkAttackNames(stringOption(o, 'attacks', 'fgsm,pgd').split(',').map((s) => s.trim()));
  } catch (e) {
    throw new UsageError(`--attacks: ${(e as Error).message}`);
  }
  const epsLinf = numberList(o, 'eps', '0.05,0.1,0.2,0.3', 0, 1, 'an L-inf epsilon is in pixel units, from 0 to 1 (e.g. 0.05,0.1,0.2,0.3)');
  const epsL2 = numberList(o, 'eps-l2', '0.5,1,2,3', 0, 1e4, 'an L2 epsilon is a distance between [0, 1] images, 0 or more (e.g. 0.5,1,2,3)');
  const n = numberOption(o, 'n', 500);
  const steps = numberOption(o, 'steps', 40);
  const restarts = numberOption(o, 'restarts', 1);
  const alpha = o.alpha === undefined ? undefined : numberOption(o, 'alpha', 0);
  const target = o.target === undefined ? undefined : numberOption(o, 'target', 0);
  const seed = numberOption(o, 'seed', 0);
  manualSeed(seed);

  const loaded = await loadForVisualization(o);
  const { normalization } = loaded;
  const out = stringOption(o, 'out', join('runs', `attack-${loaded.arch}-${loaded.dataset}`));
  if (target !== undefined && target >= loaded.classNames.length) throw new UsageError(`--target ${target} is out of range: the model has ${loaded.classNames.length} classes (0 to ${loaded.classNames.length - 1})`);

  const data = await datasetSpec(loaded.dataset).load('validation', n);
  const size = data.channels * data.height * data.width;
  const chosen = Array.from({ length: Math.min(n, data.n) }, (_, i) => i).filter((i) => target === undefined || data.labels[i] !== target);
  if (chosen.length === 0) throw new UsageError(`--target ${target} is the true class of every selected image; a targeted attack needs images of another class (raise --n or pick another --target)`);
  const excluded = Math.min(n, data.n) - chosen.length;
  if (excluded) console.error(`--target ${target}: ${excluded} image(s) of class ${target} left out (their target is their true class)`);
  const pixels = Float32Array.from(chosen.flatMap((i) => Array.from(data.images.subarray(i * size, (i + 1) * size), (v) => v / 255)));
  const labels = chosen.map((i) => data.labels[i]!);
  const x = tensor(pixels, [chosen.length, data.channels, data.height, data.width]);
  const y = tensor(Int32Array.from(labels), [chosen.length]);
  const targets = target === undefined ? undefined : labels.map(() => target);
  const call = { targetClass: targets };
  const pixelModel = new PixelModel(loaded.model, normalization);

  const runs = names.reduce((k, a) => k + (ATTACK_BUDGET[a] === 'linf' ? epsLinf.length : ATTACK_BUDGET[a] === 'l2' ? epsL2.length : 1), 0);
  const progress = new Progress({ label: `attack ${loaded.arch}`, total: runs, unit: 'run' });
  let done = 0;
  const results: AttackResult[] = [];
  const examples: { attack: AttackName; eps: number | null; adv: Float32Array; outcome: AttackOutcome }[] = [];

  /** Runs one attack at one budget (or unbounded) and returns its outcome; the last budget's pictures are kept. */
  const runOnce = async (attack: AttackName, eps: number | undefined) => {
    const adv = await makeAttack(attack, loaded.model, { normalization, eps, alpha, steps, restarts }).attack(x, y, call);
    try {
      const outcome = await attackOutcome(pixelModel, x, adv);
      progress.update(++done, { attack, eps: eps ?? 'none' }, true);
      return { outcome, adv: (await adv.toArray()) as Float32Array };
    } finally {
      adv.dispose();
    }
  };

  for (const attack of names) {
    const started = performance.now();
    const budget = ATTACK_BUDGET[attack];
    const result: AttackResult = { attack, budget, seconds: 0, points: [] };
    if (budget === 'minimum-l2') {
      const { outcome, adv } = await runOnce(attack, undefined);
      const fooled = outcome.adversarial.map((p, i) => (targets ? p === targets[i] : p !== labels[i]));
      // within budget eps: the images the attack fooled with a perturbation of L2 at most eps
      for (const eps of epsL2) {
        const within: AttackOutcome = { ...outcome, adversarial: outcome.adversarial.map((p, i) => (fooled[i] && outcome.l2[i]! <= eps ? p : outcome.clean[i]!)) };
        result.points.push({ eps, ...pick(scoreOutcome(within, labels, targets)), meanLinf: mean(outcome.linf), meanL2: mean(outcome.l2) });
      }
      result.medianL2 = median(outcome.l2.filter((_, i) => fooled[i]));
      examples.push({ attack, eps: null, adv, outcome });
    } else {
      const list = budget === 'linf' ? epsLinf : epsL2;
      for (const [k, eps] of list.entries()) {
        const { outcome, adv } = await runOnce(attack, eps);
        result.points.push({ eps, ...pick(scoreOutcome(outcome, labels, targets)), meanLinf: mean(outcome.linf), meanL2: mean(outcome.l2) });
        if (k === list.length - 1) examples.push({ attack, eps, adv, outcome });
      }
    }
    result.seconds = (performance.now() - started) / 1000;
    results.push(result);
  }
  progress.done();

  const checks = await maskingChecks();
  const clean = scoreOutcome(examples[0]!.outcome, labels, targets).cleanAccuracy;
  const output = new CommandOutput(out, `Adversarial examples against ${loaded.arch} (${loaded.dataset})`);
  output.report.paragraph(
    `${chosen.length} validation images, clean accuracy ${pct(clean)}; ${target === undefined ? 'untargeted' : `targeted at class ${target}`}; ` +
      `${steps} steps, ${restarts} restart(s), epsilon in pixel units of [0, 1] images. Accuracy: the share still classified correctly; success: the share the attack fooled` +
      `${target === undefined ? '' : ' into the target'}.`,
  );
  output.table(
    undefined,
    [['attack', 'budget', 'epsilon', 'accuracy', 'success', 'mean L-inf', 'mean L2'], ...results.flatMap((r) => r.points.map((p) => [r.attack, r.budget, String(p.eps), pct(p.accuracy), pct(p.successRate), p.meanLinf.toFixed(3), p.meanL2.toFixed(3)]))],
    'accuracy and attack success per attack and budget',
  );
  for (const kind of ['linf', 'l2'] as const) {
    const rows = results.filter((r) => (kind === 'linf' ? r.budget === 'linf' : r.budget !== 'linf'));
    if (rows.length) output.png(`accuracy-${kind}.png`, curves(rows, kind, loaded.arch), `accuracy (solid) and success rate (dashed) against the ${kind === 'linf' ? 'L-inf' : 'L2'} epsilon`);
  }
  output.png('examples.png', pictures(), 'per attack at its largest budget: x, the perturbation amplified, x + delta, with both predictions');
  const checkRows = [['check', 'expected', 'measured', 'result'], ...checks.map((c) => [c.check, c.expected, c.measured, c.pass ? 'pass' : 'FAIL'])];
  output.table('checks.md', checkRows, 'checks against gradient masking (Carlini et al. 2019): a FAIL means the accuracies above overstate robustness');
  output.json('attack.json', {
    model: loaded.arch,
    dataset: loaded.dataset,
    images: chosen.length,
    excludedAsTarget: excluded,
    target: target ?? null,
    settings: { steps, restarts, alpha: alpha ?? '2.5 eps / steps', epsLinf, epsL2 },
    cleanAccuracy: clean,
    results,
    checks,
  });
  output.finish();
  const table = markdownTable(checkRows);
  console.log(`clean accuracy ${pct(clean)} on ${chosen.length} images`);
  for (const r of results) console.log(`${r.attack}: ${r.points.map((p) => `eps ${p.eps}: accuracy ${pct(p.accuracy)}, success ${pct(p.successRate)}`).join('; ')}${r.medianL2 !== undefined ? `; median L2 ${r.medianL2.toFixed(3)}` : ''} (${r.seconds.toFixed(1)} s)`);
  console.log(`checks against gradient masking:\n${table}\nfiles in ${out}`);
  x.dispose();
  y.dispose();

  function pick(s: { accuracy: number; successRate: number }) {
    return { accuracy: s.accuracy, successRate: s.successRate };
  }

  /** The checks that no attack library ships (Carlini et al. 2019, "On evaluating adversarial robustness"). */
  async function maskingChecks(): Promise<MaskingCheck[]> {
    const list: MaskingCheck[] = results.filter((r) => r.budget !== 'minimum-l2').map((r) => epsilonMonotone(r.attack, r.points.map((p) => p.eps), r.points.map((p) => p.accuracy)));
    // PGD at the middle epsilon of the list, where accuracy is neither 100% nor 0%
    const eps = epsLinf[Math.floor((epsLinf.length - 1) / 2)]!;
    const pgdAccuracy = async (model: PixelModel, opts: { eps: number; steps: number; restarts: number; keepFirstSuccess?: boolean; alpha?: number }, on = pixelModel) => {
      // the same random start and step size in every run: the longer run then extends the shorter one,
      // and the first restart is the single run, so only masking (or a bug) can make accuracy rise
      manualSeed(seed);
      const adv = await new PGD(model.model, { ...opts, alpha: opts.alpha ?? alpha ?? (2.5 * eps) / steps, normalization: model.normalization }).attack(x, y, call);
      try {
        return targets ? scoreOutcome(await attackOutcome(on, x, adv), labels, targets).accuracy : await accuracyOn(on, adv, y);
      } finally {
        adv.dispose();
      }
    };
    const base = await pgdAccuracy(pixelModel, { eps, steps, restarts: 1 });
    const moreSteps = await pgdAccuracy(pixelModel, { eps, steps: Math.ceil(2.5 * steps), restarts: 1 });
    list.push({ check: `PGD eps ${eps}: more steps never help the model`, expected: `accuracy with ${Math.ceil(2.5 * steps)} steps <= with ${steps}`, measured: `${pct(moreSteps)} vs ${pct(base)}`, pass: moreSteps <= base });
    const moreRestarts = numberOption(o, 'check-restarts', Math.max(5, restarts));
    const restarted = await pgdAccuracy(pixelModel, { eps, steps, restarts: moreRestarts });
    list.push({ check: `PGD eps ${eps}: restarts never help the model`, expected: `accuracy with ${moreRestarts} restarts <= with 1`, measured: `${pct(restarted)} vs ${pct(base)}`, pass: restarted <= base });
    // its own step, sized for eps 1 as PGD's default rule sizes it (2.5 eps / steps): with the small step of
    // the checks above the attack barely leaves its random start, and a robust model that calls noise
    // "frog" keeps its frogs
    const unbounded = await pgdAccuracy(pixelModel, { eps: 1, steps, restarts: 1, alpha: 2.5 / steps });
    list.push({ check: 'unbounded PGD (eps 1) fools every image', expected: targets ? 'every image classified as the target' : 'accuracy 0%', measured: `accuracy ${pct(unbounded)}`, pass: unbounded === 0 });
    if (o['transfer-from'] !== undefined) {
      const source = await loadForVisualization({ model: o['transfer-from'], arch: o['transfer-arch'], dataset: loaded.dataset });
      // the last iterate: stopping at the first success on the source model would make a weak transfer
      const transfer = await pgdAccuracy(new PixelModel(source.model, source.normalization), { eps, steps, restarts: 1, keepFirstSuccess: false });
      list.push({ check: `PGD eps ${eps} transferred from ${source.arch} does not beat white-box`, expected: 'transfer accuracy >= white-box accuracy', measured: `${pct(transfer)} vs ${pct(base)}`, pass: transfer >= base });
    }
    return list;
  }

  function curves(rows: AttackResult[], kind: 'linf' | 'l2', arch: string) {
    const series: Series[] = rows.flatMap((r) => [
      { name: `${r.attack} accuracy`, x: r.points.map((p) => p.eps), y: r.points.map((p) => p.accuracy) },
      { name: `${r.attack} success`, x: r.points.map((p) => p.eps), y: r.points.map((p) => p.successRate), dashed: true },
    ]);
    return linePlot(series, { title: `${arch}: under attack (${kind === 'linf' ? 'L-inf' : 'L2'})`, xLabel: `epsilon (${kind === 'linf' ? 'pixel units' : 'L2 distance'})`, yLabel: 'share of images', yRange: [0, 1], width: 640, height: 420 });
  }

  function pictures() {
    const show = Math.min(4, chosen.length);
    const tiles = [];
    const titles: string[] = [];
    const rowTitles: string[] = [];
    for (const e of examples) {
      rowTitles.push(`${e.attack}${e.eps === null ? '' : ` ${e.eps}`}`);
      for (let i = 0; i < show; i++) {
        const xi = pixels.subarray(i * size, (i + 1) * size);
        const ai = e.adv.subarray(i * size, (i + 1) * size);
        const delta = ai.map((v, j) => v - xi[j]!);
        const scale = Math.max(1e-12, ...Array.from(delta, Math.abs));
        tiles.push(chwToImage(xi, data.channels, data.height, data.width));
        tiles.push(chwToImage(delta.map((d) => 0.5 + (0.5 * d) / scale), data.channels, data.height, data.width));
        tiles.push(chwToImage(ai, data.channels, data.height, data.width));
        // an image the attack left alone (no adversarial found) has no perturbation to amplify
        titles.push(`x: ${e.outcome.clean[i]}`, scale < 1e-9 ? 'd = 0' : `d x${(0.5 / scale).toFixed(1)}`, `adv: ${e.outcome.adversarial[i]}`);
      }
    }
    return makeGrid(tiles, { cols: 3 * show, tileScale: data.height <= 32 ? 3 : 1, tileTitles: titles, rowTitles, title: `${loaded.arch}: x, perturbation (amplified), x + delta` });
  }
}
