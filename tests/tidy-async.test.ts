/** tidyAsync (issue 23): async scopes that free what they create across awaits, nested and concurrent. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { REPO_ROOT } from '../datasets/paths.ts';
// @ts-expect-error: a plain .mjs script without types
import { ensureBuilt } from '../scripts/build.mjs';

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('tidyAsync', () => {
  it('a 500-step PGD-style loop with an await per step keeps memory flat without a dispose', async () => {
    gb.manualSeed(4);
    const model = new gb.nn.Sequential(new gb.nn.Linear(16, 32), new gb.nn.ReLU(), new gb.nn.Linear(32, 4));
    const x0 = gb.rand([8, 16]);
    const labels = gb.tensor(new Int32Array([0, 1, 2, 3, 0, 1, 2, 3]), [8]);
    const x = gb.keep(x0.clone()).requiresGrad_();
    const used: number[] = [];
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 0; step < 500; step++) {
      await gb.tidyAsync(async () => {
        const loss = gb.crossEntropy(model.forward(x), labels);
        const [g] = gb.grad([loss], [x]);
        gb.noGrad(() => x.assign(gb.clamp(gb.add(x, gb.mul(gb.sign(g!), 0.001)), { min: gb.sub(x0, 0.1), max: gb.add(x0, 0.1) })));
        lastLoss = await loss.item();
        if (step === 0) firstLoss = lastLoss;
      });
      used.push(gb.memory().bytesInUse);
    }
    expect(lastLoss).toBeGreaterThan(firstLoss); // the ascent did something
    // flat: after the first steps (buffers warm), not one byte more is in use
    expect(used[499]).toBe(used[20]);
    expect(Math.max(...used.slice(20))).toBe(used[20]);
  });

  it('frees across awaits, returns what fn resolves to, keeps what is kept', async () => {
    const made: gb.Tensor[] = [];
    const kept = { t: undefined as gb.Tensor | undefined };
    const out = await gb.tidyAsync(async () => {
      made.push(gb.ones([3]));
      await tick();
      made.push(gb.mul(made[0]!, 2));
      kept.t = gb.keep(gb.zeros([2]));
      await tick();
      return { y: gb.add(made[1]!, 1) };
    });
    expect(made.map((t) => t.isDisposed)).toEqual([true, true]);
    expect(kept.t!.isDisposed).toBe(false);
    expect(Array.from(await out.y.toArray())).toEqual([3, 3, 3]);
  });

  it('nested and concurrent scopes each free only their own tensors', async () => {
    const inner: gb.Tensor[] = [];
    const outer = await gb.tidyAsync(async () => {
      const a = gb.ones([2]);
      const fromInner = await gb.tidyAsync(async () => {
        inner.push(gb.ones([2]));
        await tick();
        return gb.mul(a, 5);
      });
      await tick();
      expect(inner[0]!.isDisposed).toBe(true);
      expect(fromInner.isDisposed).toBe(false);
      return { a, fromInner };
    });
    expect(Array.from(await outer.fromInner.toArray())).toEqual([5, 5]);

    const worker = (k: number) =>
      gb.tidyAsync(async () => {
        let acc = gb.full([4], k);
        for (let i = 0; i < 5; i++) {
          await tick();
          acc = gb.add(acc, 1);
        }
        return acc;
      });
    const [r1, r2] = await Promise.all([worker(10), worker(100)]);
    expect(Array.from(await r1.toArray())).toEqual([15, 15, 15, 15]);
    expect(Array.from(await r2.toArray())).toEqual([105, 105, 105, 105]);
  });

  it('an error frees the scope and propagates; starting inside tidy() is refused', async () => {
    let t: gb.Tensor | undefined;
    await expect(gb.tidyAsync(async () => {
      t = gb.ones([2]);
      await tick();
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(t!.isDisposed).toBe(true);
    expect(() => gb.tidy(() => void gb.tidyAsync(async () => 1))).toThrow(/cannot start inside a synchronous tidy/);
  });

  it('without AsyncLocalStorage (browsers): sequential scopes work, a second running scope throws', () => {
    ensureBuilt();
    const script = `
      delete process.getBuiltinModule;
      const gb = await import('glassbox');
      const made = [];
      for (let i = 0; i < 3; i++) await gb.tidyAsync(async () => { made.push(gb.ones([2])); await new Promise((r) => setTimeout(r, 1)); });
      let nested = 'no error';
      await gb.tidyAsync(async () => { try { await gb.tidyAsync(async () => 1); } catch (e) { nested = e.message; } });
      console.log(JSON.stringify({ freed: made.every((t) => t.isDisposed), nested }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { freed: boolean; nested: string };
    expect(out.freed).toBe(true);
    expect(out.nested).toMatch(/another tidyAsync is still running, and without AsyncLocalStorage/);
  });
});
