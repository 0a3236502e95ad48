/**
 * examples/ (issue 23) run as a user runs them: `node examples/x.mjs`, importing 'glassbox/node'
 * (the package's own export, resolved to the compiled dist/), on small data. Each prints one JSON
 * line of results, checked here against what the method must do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../datasets/paths.ts';
import { readPng } from '../src/viz/files.ts';
// @ts-expect-error: a plain .mjs script without types
import { ensureBuilt } from '../scripts/build.mjs';

const EXAMPLES = join(REPO_ROOT, 'examples');
let scratch: string;

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'glassbox-examples-'));
}, 120_000);

function runExample(file: string, args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [join(EXAMPLES, file), ...args], {
    cwd: scratch,
    encoding: 'utf8',
    env: { ...process.env, GLASSBOX_DATA: process.env.GLASSBOX_DATA ?? '/work/shared/datasets' },
    timeout: 120_000,
  });
  expect(r.status, `${file} failed:\n${r.stderr}`).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('examples', () => {
  it('import only the public entries, and stay short', () => {
    for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.mjs'))) {
      const text = readFileSync(join(EXAMPLES, file), 'utf8');
      const imports = [...text.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
      expect(imports, file).toEqual(['glassbox/node']);
      expect(text.split('\n').length, file).toBeLessThanOrEqual(80);
    }
  });

  it('FGSM and PGD lower the accuracy, within the eps-ball', () => {
    const r = runExample('attack-fgsm-pgd.mjs', ['--n', '32', '--eps', '0.1', '--steps', '10']) as { clean: number; fgsm: number; pgd: number; maxChange: number };
    expect(r.clean).toBeGreaterThan(0.8);
    expect(r.fgsm).toBeLessThan(r.clean);
    expect(r.pgd).toBeLessThan(r.clean);
    expect(r.maxChange).toBeLessThanOrEqual(0.1 + 1e-6);
  });

  it('feature visualisation raises the class probability and writes the picture', () => {
    const r = runExample('feature-visualisation.mjs', ['--class', '3', '--steps', '30', '--out', 'three.png']) as { before: number; after: number };
    expect(r.after).toBeGreaterThan(Math.max(0.5, r.before));
    const png = readPng(join(scratch, 'three.png'));
    expect([png.width, png.height]).toEqual([28, 28]);
  });

  it('LRP through module rules: with eps = gamma = 0 it is gradient x input; with them it differs', () => {
    const r = runExample('lrp.mjs', ['--n', '4', '--out', 'lrp.png']) as { lrp0VersusGradientTimesInput: number; lrpVersusGradientTimesInput: number };
    expect(r.lrp0VersusGradientTimesInput).toBeLessThan(1e-4);
    expect(r.lrpVersusGradientTimesInput).toBeGreaterThan(0.05);
    expect(existsSync(join(scratch, 'lrp.png'))).toBe(true);
  });

  it('explanation manipulation: the gradient map moves toward another image\'s, the prediction stays, within the budget', () => {
    const r = runExample('explanation-manipulation.mjs', ['--steps', '60', '--eps', '0.1']) as Record<string, number>;
    expect([r.predictedBefore, r.predictedAfter, r.reluPredictedAfter]).toEqual([r.label, r.label, r.label]);
    // measured: 28% closer on the softplus copy, 29% on the ReLU net
    expect(r.distanceToTargetAfter!).toBeLessThan(0.85 * r.distanceToTargetBefore!);
    expect(r.reluDistanceAfter!).toBeLessThan(0.9 * r.reluDistanceBefore!);
    expect(r.maxChange!).toBeLessThanOrEqual(0.1 + 1e-6);
    expect(r.probabilityChange!).toBeLessThan(0.01);
  });

  it('a custom attribution method: complete when run alone, scored by glassbox evaluate --plugin next to the built-in ones', () => {
    const alone = runExample('custom-attribution.mjs', ['--n', '4']) as { images: number; maxRelativeCompletenessError: number };
    expect(alone.images).toBe(4);
    expect(alone.maxRelativeCompletenessError).toBeLessThan(0.02); // measured 0.006 on 8 images
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, 'bin/glassbox.mjs'), 'evaluate', '--model', join(REPO_ROOT, 'tests/fixtures/models/lenet-mnist.safetensors'), '--arch', 'lenet5', '--dataset', 'mnist', '--n', '4', ...args], {
        cwd: scratch,
        encoding: 'utf8',
        env: { ...process.env, GLASSBOX_DATA: process.env.GLASSBOX_DATA ?? '/work/shared/datasets' },
        timeout: 120_000,
      });
    const plugin = join(EXAMPLES, 'custom-attribution.mjs');
    const r = cli(['--plugin', plugin, '--methods', 'integrated-gradients,ig-by-hand,random-map', '--out', 'evaluate']);
    expect(r.status, r.stderr).toBe(0);
    const rows = (JSON.parse(readFileSync(join(scratch, 'evaluate', 'evaluation.json'), 'utf8')) as { results: Array<{ method: string; deletionAuc: number; insertionAuc: number; error?: string }> }).results;
    const row = (name: string) => rows.find((x) => x.method === name)!;
    expect(rows.map((x) => [x.method, x.error])).toEqual([['integrated-gradients', undefined], ['ig-by-hand', undefined], ['random-map', undefined]]);
    // the same method by hand scores as the built-in one does; both beat the random control
    expect(Math.abs(row('ig-by-hand').deletionAuc - row('integrated-gradients').deletionAuc)).toBeLessThan(0.02);
    expect(row('ig-by-hand').deletionAuc).toBeLessThan(row('random-map').deletionAuc - 0.2);
    expect(row('ig-by-hand').insertionAuc).toBeGreaterThan(row('random-map').insertionAuc);
    // a module that adds nothing, and a spec with a wrong field, fail by name
    writeFileSync(join(scratch, 'empty.mjs'), 'export const nothing = 1;\n');
    const empty = cli(['--plugin', 'empty.mjs']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/--plugin empty.mjs: the module adds no explanation method; export `methods`/);
    writeFileSync(join(scratch, 'bad.mjs'), "export const methods = [{ name: 'x', catalogue: 'c', description: 'd', output: 'pixels', signed: true, create: () => null }];\n");
    const bad = cli(['--plugin', 'bad.mjs']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/glassbox.xai.registerMethods \(spec 0, 'x'\): option output must be 'input' or 'layer', got "pixels"/);
  });
});
