/**
 * examples/ (issue 23) run as a user runs them: `node examples/x.mjs`, importing 'glassbox/node'
 * (the package's own export, resolved to the compiled dist/), on small data. Each prints one JSON
 * line of results, checked here against what the method must do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
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
});
