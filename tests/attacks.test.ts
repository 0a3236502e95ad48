/**
 * Catalogue C1 (src/xai/attacks) on a linear model and the trained LeNet-5 (MNIST): FGSM is the
 * analytic step eps * sign(w) on a linear model; PGD iterates stay in the ball and [0, 1]; a
 * targeted attack reaches its target; PGD at eps 0.3 fools nearly every test image and more steps
 * never raise accuracy (a check against gradient masking); C&W and L-BFGS find small-L2
 * adversarials; bad input gets errors that name the fix; `glassbox attack` writes its files and
 * checks; `train --adversarial fgsm-rs` runs and records its settings.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { CW, FGSM, LBFGSAttack, PGD, PixelModel, adversarialBatchHook, adversarialTrainingSettings, attackOutcome, perImageNorm, warmupScale } from '../src/xai/attacks/index.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { ATTACK_OPTIONS } from '../src/cli/options.ts';
import { attackCommand } from '../src/cli/attack.ts';
import { train, TRAIN_OPTIONS } from '../src/cli/train.ts';
import { trainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

const normalization = gb.normalization.mnist!;
const FIXTURE = 'tests/fixtures/models/lenet-mnist.safetensors';
const ROBUST_FIXTURE = 'tests/fixtures/models/lenet-mnist-robust.safetensors';
let lenet: gb.nn.Module;
let x: gb.Tensor;
let y: gb.Tensor;
let labels: number[];

beforeAll(async () => {
  lenet = (await trainedModel('lenet-mnist')).model;
  const data = await mnist({ split: 'test', limit: 64 });
  [x, y] = [gb.keep(data.images), gb.keep(data.labels)];
  labels = Array.from(await y.toArray());
});

const read = async (t: gb.Tensor) => Float32Array.from(await t.toArray());
async function accuracy(adv: gb.Tensor, images = y): Promise<number> {
  const m = new PixelModel(lenet, normalization);
  const hits = gb.tidy(() => gb.noGrad(() => gb.eq(gb.argmax(m.logits(adv), { dim: 1 }), images).sum()));
  return (await hits.item()) / images.shape[0]!;
}
const first = (t: gb.Tensor, n: number) => gb.keep(gb.slice(t, 0, { start: 0, end: n }).contiguous());

describe('FGSM and PGD', () => {
  it('FGSM on a linear model is exactly x + eps * sign(w) (the gradient of class 0 loss is p1 (w1 - w0), with w0 = 0)', async () => {
    const linear = new gb.nn.Linear(4, 2);
    const w1 = [0.3, -0.2, 0.5, -0.1];
    linear.weight.assign(gb.tensor([0, 0, 0, 0, ...w1], [2, 4]));
    linear.bias!.assign(gb.tensor([0, 0], [2]));
    const model = new gb.nn.Sequential(new gb.nn.Flatten(), linear);
    const pixels = gb.full([3, 1, 2, 2], 0.5);
    const eps = 0.125; // exact in float32, as is 0.5: the difference is exactly representable
    // the normalisation rescales the gradient by 1/std > 0, which leaves its sign alone
    const adv = await new FGSM(model, { eps, normalization: { mean: [0.1], std: [0.3] } }).attack(pixels, gb.tensor(new Int32Array(3), [3]));
    const delta = Array.from(await read(adv), (v) => v - 0.5);
    expect(delta).toEqual(Array.from({ length: 3 }, () => w1.map((w) => eps * Math.sign(w))).flat());
  });

  it.each(['linf', 'l2'] as const)('PGD (%s) iterates stay in the eps-ball and the pixel range', async (norm) => {
    const eps = norm === 'linf' ? 0.1 : 1.5;
    const images = first(x, 16);
    const pgd = new PGD(lenet, { eps, norm, steps: 8, alpha: norm === 'linf' ? 0.05 : 0.8, normalization });
    const seen: { min: number; max: number; size: number }[] = [];
    pgd.onStep = (_, adv) =>
      gb.tidy(() => {
        const d = gb.sub(adv, images);
        const size = norm === 'linf' ? gb.amax(gb.abs(d)) : gb.amax(perImageNorm(d));
        seen.push(gb.keep(gb.stack([gb.amin(adv), gb.amax(adv), size])) as never);
      });
    (await pgd.attack(images, first(y, 16))).dispose();
    const stats = await Promise.all((seen as unknown as gb.Tensor[]).map(read));
    expect(stats).toHaveLength(8);
    for (const [lo, hi, size] of stats) {
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(size).toBeLessThanOrEqual(eps * (1 + 1e-5));
    }
    // the attack moved them: the last iterate is on or near the boundary
    expect(stats[7]![2]).toBeGreaterThan(eps * 0.9);
  });

  it('a targeted PGD (100 steps of 0.01) makes the trained LeNet predict the target class', async () => {
    gb.manualSeed(0); // the random start
    const targets = labels.map((l) => (l + 1) % 10);
    const adv = await new PGD(lenet, { eps: 0.3, steps: 100, alpha: 0.01, normalization }).attack(x, y, { targetClass: targets });
    const outcome = await attackOutcome(new PixelModel(lenet, normalization), x, adv);
    const reached = outcome.adversarial.filter((p, i) => p === targets[i]).length / targets.length;
    console.log(`targeted PGD eps 0.3: ${(100 * reached).toFixed(1)}% of 64 images reach their target`);
    expect(reached).toBeGreaterThanOrEqual(0.95);
  });

  it('PGD at eps 0.3 fools the trained LeNet on at least 95% of 64 test images; more steps never raise accuracy', async () => {
    gb.manualSeed(0);
    const clean = await accuracy(x);
    const adv = await new PGD(lenet, { eps: 0.3, steps: 40, alpha: 0.01, normalization }).attack(x, y);
    const attacked = await accuracy(adv);
    console.log(`LeNet: clean ${clean}, PGD-40 eps 0.3 ${attacked}`);
    expect(clean).toBeGreaterThan(0.9);
    expect(attacked).toBeLessThanOrEqual(0.05);
    // deterministic (no random start, fixed alpha): the 40-step run extends the 10-step run
    const curve: number[] = [];
    for (const steps of [1, 3, 10, 30]) curve.push(await accuracy(await new PGD(lenet, { eps: 0.1, steps, alpha: 0.02, randomStart: false, normalization }).attack(x, y)));
    console.log(`PGD eps 0.1 accuracy after 1, 3, 10, 30 steps: ${curve}`);
    for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeLessThanOrEqual(curve[i - 1]!);
    expect(curve[3]).toBeLessThan(curve[0]!);
  });
});

describe('minimum-distortion attacks', () => {
  it.each([
    ['C&W L2', () => new CW(lenet, { steps: 40, searchSteps: 2, normalization })],
    ['L-BFGS', () => new LBFGSAttack(lenet, { steps: 10, searchSteps: 2, normalization })],
  ])('%s finds adversarials with a small L2 norm', async (name, make) => {
    const images = first(x, 8);
    const adv = await make().attack(images, first(y, 8));
    const o = await attackOutcome(new PixelModel(lenet, normalization), images, adv);
    const fooled = o.adversarial.map((p, i) => p !== labels[i] && o.clean[i] === labels[i]);
    const l2 = o.l2.filter((_, i) => fooled[i]).sort((a, b) => a - b);
    console.log(`${name}: ${l2.length}/8 fooled, L2 ${l2.map((v) => v.toFixed(2)).join(' ')}`);
    expect(l2.length).toBeGreaterThanOrEqual(7);
    // PGD's L-inf 0.3 perturbations average L2 5.7 on these digits; a median under 2.5 is small
    expect(l2[Math.floor(l2.length / 2)]!).toBeLessThan(2.5);
  });
});

describe('bad input', () => {
  it('epsilon out of range, a target equal to the true class, pixels outside [0, 1] are refused by name', async () => {
    expect(() => new PGD(lenet, { eps: 3, normalization })).toThrow(/eps 3 is out of range: an L-inf epsilon is in pixel units, from 0 to 1/);
    expect(() => new FGSM(lenet, { eps: -0.1 })).toThrow(/eps -0.1 is out of range/);
    await expect(new FGSM(lenet, { eps: 0.1, normalization }).attack(first(x, 4), first(y, 4), { targetClass: labels[2] })).rejects.toThrow(
      new RegExp(`target class ${labels[2]} of image \\d is its true class`),
    );
    const normalised = gb.keep(gb.normalize(first(x, 4), normalization));
    await expect(new FGSM(lenet, { eps: 0.1, normalization }).attack(normalised, first(y, 4))).rejects.toThrow(/x must be pixels in \[0, 1\].*give the model's normalisation/);
  });

  it('glassbox attack: an unknown attack name, an out-of-range --eps, a target equal to every image class are usage errors', async () => {
    const run = (argv: string[]) => attackCommand(parseArgs(['--model', FIXTURE, '--out', mkdtempSync(join(tmpdir(), 'gb-attack-')), ...argv], ATTACK_OPTIONS));
    await expect(run(['--attacks', 'fgsm,deepfool'])).rejects.toThrow(UsageError);
    await expect(run(['--attacks', 'fgsm,deepfool'])).rejects.toThrow(/unknown attack 'deepfool'; the attacks are fgsm, pgd, pgd-l2, cw, lbfgs/);
    await expect(run(['--eps', '0.1,1.5'])).rejects.toThrow(/--eps 0.1,1.5: '1.5' is out of range; an L-inf epsilon is in pixel units, from 0 to 1/);
    await expect(run(['--n', '1', '--target', String(labels[0])])).rejects.toThrow(/--target \d is the true class of every selected image/);
  });
});

describe('glassbox attack and train --adversarial', () => {
  it('attack writes the curves, pictures, JSON and the gradient-masking checks, which pass on LeNet', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-attack-'));
    await attackCommand(parseArgs(['--model', FIXTURE, '--attacks', 'fgsm,pgd', '--eps', '0.1,0.3', '--n', '32', '--steps', '10', '--out', out], ATTACK_OPTIONS));
    for (const f of ['attack.json', 'accuracy-linf.png', 'examples.png', 'checks.md']) expect(existsSync(join(out, f)), f).toBe(true);
    expectCommandReport(out, { shown: ['accuracy-linf.png', 'examples.png'], listed: ['attack.json', 'checks.md'] });
    const json = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8'));
    const pgd = json.results.find((r: { attack: string }) => r.attack === 'pgd');
    expect(pgd.points.map((p: { eps: number }) => p.eps)).toEqual([0.1, 0.3]);
    expect(pgd.points[1].accuracy).toBeLessThanOrEqual(0.05);
    expect(json.checks.map((c: { pass: boolean }) => c.pass)).toEqual(json.checks.map(() => true));
    expect(json.checks.some((c: { check: string }) => /unbounded/.test(c.check))).toBe(true);
  });

  it("the unbounded check takes steps sized for eps 1, not the small budgets' steps: it fools the robust LeNet too", async () => {
    // with the steps of eps 0.02 the "unbounded" attack stays near its random start (noise), and a robust
    // model that gives noise one class keeps every image of that class: a check failing for no masking
    const out = mkdtempSync(join(tmpdir(), 'gb-attack-'));
    await attackCommand(parseArgs(['--model', ROBUST_FIXTURE, '--attacks', 'pgd', '--eps', '0.01,0.02,0.03', '--n', '64', '--steps', '10', '--check-restarts', '2', '--out', out], ATTACK_OPTIONS));
    const unbounded = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8')).checks.find((c: { check: string }) => /unbounded/.test(c.check));
    expect(unbounded).toMatchObject({ measured: 'accuracy 0.0%', pass: true });
  });

  it('train --adversarial fgsm-rs trains on perturbed batches and records its settings in the checkpoint', async () => {
    const s = adversarialTrainingSettings('fgsm-rs', { eps: 0.3 });
    expect(s).toEqual({ method: 'fgsm-rs', eps: 0.3, alpha: 0.375, steps: 1 });
    // the hook's batch stays within eps of the pixels, and moves them
    const images = first(x, 8);
    const hooked = gb.tidy(() => gb.denormalize(adversarialBatchHook(lenet, s, normalization)(gb.normalize(images, normalization), first(y, 8)), normalization));
    const change = await gb.tidy(() => gb.amax(gb.abs(gb.sub(hooked, images)))).item();
    expect(change).toBeGreaterThan(0.25);
    expect(change).toBeLessThanOrEqual(0.3 + 1e-5);

    const out = mkdtempSync(join(tmpdir(), 'gb-adv-train-'));
    const argv = ['--model', 'lenet5', '--dataset', 'mnist', '--limit', '192', '--val-limit', '100', '--epochs', '1', '--adversarial', 'fgsm-rs', '--eps', '0.3', '--out', out];
    await train(parseArgs(argv, TRAIN_OPTIONS));
    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8'));
    expect(checkpoint.config.adversarial).toEqual({ method: 'fgsm-rs', eps: 0.3, alpha: 0.375, steps: 1 });
    await expect(train(parseArgs(['--model', 'lenet5', '--dataset', 'mnist', '--eps', '0.3', '--out', out], TRAIN_OPTIONS))).rejects.toThrow(/--eps sets the attack of adversarial training; add --adversarial pgd or --adversarial fgsm-rs/);
    await expect(train(parseArgs([...argv.slice(0, -2), '--attack-steps', '5', '--out', mkdtempSync(join(tmpdir(), 'gb-adv-train-'))], TRAIN_OPTIONS))).rejects.toThrow(/fgsm-rs takes one attack step/);
  });

  it('an eps warm-up ramps the budget linearly over its batches, resumes where the run stopped, and is recorded', async () => {
    const s = adversarialTrainingSettings('pgd', { eps: 0.3, steps: 5, warmupEpochs: 2 });
    expect(s).toEqual({ method: 'pgd', eps: 0.3, alpha: 0.15, steps: 5, warmupEpochs: 2 });
    expect(adversarialTrainingSettings('pgd', { eps: 0.3, steps: 5, warmupEpochs: 0 })).not.toHaveProperty('warmupEpochs');
    expect(() => adversarialTrainingSettings('pgd', { warmupEpochs: -1 })).toThrow(/warm-up must be a number of epochs >= 0, got -1/);
    // 2 epochs of 10 batches: batch b (0-based) attacks with (b + 1) / 20 of eps, then the full eps
    expect([0, 9, 19, 40].map((b) => warmupScale(s, b, 10))).toEqual([1 / 20, 0.5, 1, 1]);
    expect(() => adversarialBatchHook(lenet, s, normalization)).toThrow(/needs the batches per epoch/);

    const images = first(x, 8);
    const labels = first(y, 8);
    const largestChange = async (hook: (x: gb.Tensor, y: gb.Tensor) => gb.Tensor) =>
      gb.tidy(() => gb.amax(gb.abs(gb.sub(gb.denormalize(hook(gb.normalize(images, normalization), labels), normalization), images)))).item();
    const oneEpoch = adversarialTrainingSettings('pgd', { eps: 0.3, steps: 5, warmupEpochs: 1 });
    const hook = adversarialBatchHook(lenet, oneEpoch, normalization, { batchesPerEpoch: 4 });
    const changes = [];
    for (let b = 0; b < 5; b++) changes.push(await largestChange(hook));
    for (let b = 0; b < 4; b++) expect(changes[b]).toBeLessThanOrEqual((0.3 * (b + 1)) / 4 + 1e-5);
    expect(changes[0]).toBeGreaterThan(0.05); // a quarter of eps, 0.075, used nearly in full
    expect(changes[4]).toBeGreaterThan(0.25);
    // a run resumed after its warm-up epoch attacks with the full eps at once
    expect(await largestChange(adversarialBatchHook(lenet, oneEpoch, normalization, { batchesPerEpoch: 4, startBatch: 4 }))).toBeGreaterThan(0.25);

    const out = mkdtempSync(join(tmpdir(), 'gb-adv-warmup-'));
    await train(parseArgs(['--model', 'lenet5', '--dataset', 'mnist', '--limit', '128', '--val-limit', '64', '--epochs', '1', '--adversarial', 'pgd', '--attack-steps', '2', '--eps-warmup', '1', '--out', out], TRAIN_OPTIONS));
    expect(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).config.adversarial).toEqual({ method: 'pgd', eps: 0.3, alpha: 0.375, steps: 2, warmupEpochs: 1 });
    await expect(train(parseArgs(['--model', 'lenet5', '--dataset', 'mnist', '--eps-warmup', '2', '--out', out], TRAIN_OPTIONS))).rejects.toThrow(/--eps-warmup sets the attack of adversarial training/);
  });
});
