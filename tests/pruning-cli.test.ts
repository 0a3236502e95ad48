/**
 * `glassbox prune` end to end on a small MNIST subset: the files it writes, resuming without
 * training again, and the refusals (a density outside (0, 1), a rate that would prune a whole
 * layer, options of the other kind of method, a changed configuration in the same folder).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { pruneCommand, PRUNE_OPTIONS, parseCompressions } from '../src/cli/prune.ts';

const run = async (argv: string[]) => pruneCommand(parseArgs(argv, PRUNE_OPTIONS));
const small = ['--model', 'lenet-300-100', '--dataset', 'mnist', '--limit', '300', '--val-size', '100', '--test-limit', '200', '--iterations', '6'];

describe('glassbox prune', () => {
  it('imp: writes the levels, prune.json, the plots and report.html; a second run resumes without training', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-prune-'));
    await run([...small, '--method', 'imp', '--rounds', '1', '--out', out]);
    for (const f of ['config.json', 'init.safetensors', 'level_1/mask.safetensors', 'level_1/main/metrics.json', 'level_1/reinit/metrics.json', 'level_1/random-mask/metrics.json', 'prune.json', 'accuracy.png', 'early-stop.png', 'curves.png', 'levels.md', 'report.html'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const first = JSON.parse(readFileSync(join(out, 'prune.json'), 'utf8'));
    expect(first.finished).toBe(true);
    expect(first.levels.map((l: { density: number }) => l.density)).toEqual([1, expect.closeTo((0.8 * 235200 + 0.8 * 30000 + 0.9 * 1000) / 266200, 4)]);
    await run([...small, '--method', 'imp', '--rounds', '1', '--out', out]);
    const again = JSON.parse(readFileSync(join(out, 'prune.json'), 'utf8'));
    expect(again.levels).toEqual(first.levels);
    await expect(run([...small, '--method', 'imp', '--rounds', '2', '--out', out])).rejects.toThrow(/holds a prune run with other settings/);
  });

  it('refuses a density outside (0, 1), a rate that prunes a whole layer, and options of the other method', async () => {
    expect(() => parseCompressions('0')).toThrow(/compression exponents a in \(0, 6\]/);
    expect(() => parseCompressions('-1,2')).toThrow(/density of 10\^-a in \(0, 1\)/);
    expect(parseCompressions('0.5-2')).toEqual([0.5, 1, 1.5, 2]);
    const out = mkdtempSync(join(tmpdir(), 'gb-prune-'));
    await expect(run([...small, '--method', 'imp', '--rate', '1', '--out', out])).rejects.toThrow(/--rate 1: the fraction of remaining weights pruned per round must be in \(0, 1\)/);
    await expect(run([...small, '--method', 'imp', '--rate', '0.95', '--rounds', '8', '--out', out])).rejects.toThrow(/--rate 0.95 with --rounds 8 prunes all \d+ weights of '\d.weight' by round \d \(layer collapse\); use a smaller --rate or fewer --rounds/);
    await expect(run([...small, '--method', 'synflow', '--rounds', '3', '--out', out])).rejects.toThrow(/--rounds only apply to --method imp/);
    await expect(run([...small, '--method', 'imp', '--compressions', '1', '--out', out])).rejects.toThrow(/--compressions only apply to pruning at initialisation/);
    await expect(run([...small, '--method', 'synflow,grasp', '--out', out])).rejects.toThrow(/--method synflow,grasp: give 'imp' alone, or one or more of magnitude, random, snip, synflow/);
    await expect(run([...small, '--method', 'imp', '--rewind-iter', '6', '--out', out])).rejects.toThrow(/--rewind-iter 6 must be below --iterations 6/);
  });

  it('synflow and magnitude at init: every layer\'s density, the highest compression with all layers alive', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-prune-'));
    await run([...small, '--method', 'synflow,magnitude', '--compressions', '3', '--synflow-iterations', '5', '--out', out]);
    const r = JSON.parse(readFileSync(join(out, 'prune.json'), 'utf8'));
    expect(r.trained.map((t: { method: string }) => t.method)).toEqual(['synflow', 'magnitude']);
    for (const t of r.trained) expect(t.density).toBeCloseTo(0.001, 5);
    // PyTorch's default init bounds |w| by 1/sqrt(fan_in): global magnitude empties the 784-input layer first
    const magnitude = r.trained.find((t: { method: string }) => t.method === 'magnitude');
    expect(magnitude.collapsed).toContain('1.weight');
    expect(r.trained.find((t: { method: string }) => t.method === 'synflow').collapsed).toEqual([]);
    // masks alone beyond the trained compressions (3.5, 4) look for the collapse point
    expect(r.maskOnly.map((t: { exponent: number }) => t.exponent)).toEqual([3.5, 4, 3.5, 4]);
    expect(r.highestCompressionAllLayersAlive.synflow.exponent).toBeGreaterThanOrEqual(3);
    expect(r.highestCompressionAllLayersAlive.magnitude).toMatchObject({ highestCompressionAllLayersAlive: null, firstCollapse: { exponent: 3 } });
    for (const f of ['accuracy.png', 'layer-density.png', 'results.md', 'report.html', 'synflow/c3/mask.safetensors']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});
