/**
 * The student's API (issue 23): backward rules with a contract (op-name table, unknown names,
 * options in the context, wrong gradient counts), module rules, second-order zeros.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { expectClose } from './helpers.ts';

const arr = async (t: gb.Tensor) => Array.from(await t.toArray());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('backward rules: the op-name table', () => {
  it('lists exactly the names the sources record (record, unary, binary, extremum call sites)', () => {
    const found = new Set<string>();
    const patterns = [/\brecord\('(\w+)'/g, /\bunary\('(\w+)'/g, /\bunary\(.*\? '(\w+)' : '(\w+)'/g, /\bbinary\('(\w+)'/g, /\bextremum\('\w+', '(\w+)'/g, /\bextremumWithIndex\('(\w+)'/g];
    for (const file of sourceFiles('src')) {
      const text = readFileSync(file, 'utf8');
      for (const re of patterns) for (const m of text.matchAll(re)) m.slice(1).forEach((name) => found.add(name));
    }
    expect([...found].sort()).toEqual(gb.recordedOpNames());
  });

  it('withBackwardRule refuses an unknown name and lists the known ones', () => {
    const rule: gb.BackwardRule = (ctx) => ctx.defaultBackward(ctx.gradOutput);
    expect(() => gb.withBackwardRule('no-such-op', rule, () => 0)).toThrow(/no op records the name "no-such-op".*Known op names: .*conv2d.*matmulAddBias/);
    expect(() => gb.withBackwardRule('linear', rule, () => 0)).toThrow(/nn.Linear records 'matmulAddBias'/);
    expect(() => gb.withBackwardRule(['relu', 'Relu'], rule, () => 0)).toThrow(/"Relu"/);
  });

  it("a Linear layer's node is one the table names, and a rule on it runs", async () => {
    const fc = new gb.nn.Linear(3, 2);
    const x = gb.tensor([[1, 2, 3]], { requiresGrad: true });
    let seen: gb.BackwardRuleContext | undefined;
    const g = gb.withBackwardRule('matmulAddBias', (ctx) => {
      seen = ctx;
      return ctx.defaultBackward(ctx.gradOutput);
    }, () => gb.grad([gb.sum(fc.forward(x))], [x])[0]!);
    expect(seen?.options).toEqual({ along: 'col' });
    expect(seen?.inputs.map((t) => t.shape)).toEqual([[1, 3], [3, 2], [2]]);
    const w = await arr(fc.weight);
    expectClose(await arr(g), [0, 1, 2].map((i) => w[i]! + w[3 + i]!), { atol: 1e-6, rtol: 1e-6, what: 'dL/dx' });
  });
});

describe('backward rules: the context and the result', () => {
  it("conv2d's context carries stride, padding, dilation and groups, enough to run it again", async () => {
    gb.manualSeed(1);
    const x = gb.randn([1, 4, 9, 9], { requiresGrad: true });
    const w = gb.randn([6, 2, 3, 3]);
    const b = gb.randn([6]);
    const opts = { stride: 2, padding: 1, dilation: 2, groups: 2 };
    let rerun: gb.Tensor | undefined;
    let inputCount = 0;
    gb.withBackwardRule('conv2d', (ctx) => {
      inputCount = ctx.inputs.length;
      expect(ctx.options).toEqual({ stride: [2, 2], padding: [1, 1], dilation: [2, 2], groups: 2 });
      rerun = gb.keep(gb.conv2d(ctx.inputs[0]!, ctx.inputs[1]!, ctx.inputs[2], ctx.options));
      return ctx.defaultBackward(ctx.gradOutput);
    }, () => gb.grad([gb.sum(gb.conv2d(x, w, b, opts))], [x]));
    // a grouped conv adds its bias after the recorded node, so the node's inputs are x and the weight
    expect(inputCount).toBe(2);
    expectClose(await arr(rerun!), await arr(gb.conv2d(x, w, null, opts)), { atol: 1e-5, rtol: 1e-5, what: 'conv2d re-run from ctx.options' });
  });

  it('unary options are named: leakyRelu {negativeSlope}, clamp {min, max}', () => {
    const x = gb.tensor([-1, 2], { requiresGrad: true });
    const seen: unknown[] = [];
    const rule: gb.BackwardRule = function spy(ctx) {
      seen.push(ctx.options);
      return ctx.defaultBackward(ctx.gradOutput);
    };
    gb.withBackwardRule(['leakyRelu', 'clamp'], rule, () => gb.grad([gb.sum(gb.clamp(gb.leakyRelu(x, { negativeSlope: 0.2 }), { min: -3, max: 4 }))], [x]));
    expect(seen).toEqual([{ min: -3, max: 4 }, { negativeSlope: 0.2 }]);
  });

  it('a rule returning the wrong number of gradients names the rule and the op', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    const w = gb.tensor([[1], [2]]);
    const empty: gb.BackwardRule = function lrpEpsilon() {
      return [];
    };
    expect(() => gb.withBackwardRule('matmul', empty, () => gb.grad([gb.sum(gb.matmul(gb.reshape(x, [1, 2]), w))], [x])))
      .toThrow(/backward rule 'lrpEpsilon' for op 'matmul' returned 0 gradients; it must return 2 \(one per input of 'matmul'/);
    expect(() => gb.withBackwardRule('exp', (() => 'oops') as unknown as gb.BackwardRule, () => gb.grad([gb.sum(gb.exp(x))], [x])))
      .toThrow(/anonymous backward rule for op 'exp' returned string/);
  });
});

describe('module rules', () => {
  it('LRP-epsilon attached to a Linear layer equals the rule computed by hand', async () => {
    gb.manualSeed(3);
    const fc = new gb.nn.Linear(4, 3);
    const eps = 0.25;
    const x = gb.randn([1, 4], { requiresGrad: true });
    const lrpEpsilon: gb.nn.ModuleRule = ({ output, gradOutput, defaultBackward }) => {
      const z = output;
      return defaultBackward(gb.div(gb.mul(gradOutput, z), gb.add(z, gb.mul(gb.sign(z), eps))));
    };
    const target = gb.tensor([[0, 1, 0]]);
    const relevance = gb.nn.withModuleRule(fc, lrpEpsilon, () => {
      const [g] = gb.grad([gb.sum(gb.mul(fc.forward(x), target))], [x]);
      return gb.mul(g!, x);
    });
    // by hand: R_i = x_i w_ji z_j / (z_j + eps sign z_j) for the target j = 1
    const [xs, ws, bs] = [await arr(x), await arr(fc.weight), await arr(fc.bias!)];
    const z = bs[1]! + [0, 1, 2, 3].reduce((s, i) => s + ws[4 + i]! * xs[i]!, 0);
    const expected = xs.map((xi, i) => (xi * ws[4 + i]! * z) / (z + eps * Math.sign(z)));
    expectClose(await arr(relevance), expected, { atol: 1e-5, rtol: 1e-4, what: 'LRP-epsilon relevance' });
    // outside the scope the layer is plain again
    const [plain] = gb.grad([gb.sum(gb.mul(fc.forward(x), target))], [x]);
    expectClose(await arr(plain!), ws.slice(4, 8), { atol: 1e-6, rtol: 1e-6, what: 'plain gradient' });
  });

  it("the rule sees its module and the op 'module'; a wrong count names the rule and the layer", () => {
    const fc = new gb.nn.Linear(2, 2);
    const x = gb.tensor([[1, 2]], { requiresGrad: true });
    let module: unknown;
    gb.nn.withModuleRule(fc, (ctx) => {
      module = ctx.module;
      expect(ctx.op).toBe('module');
      return ctx.defaultBackward(ctx.gradOutput);
    }, () => gb.grad([gb.sum(fc.forward(x))], [x]));
    expect(module).toBe(fc);
    const twice: gb.nn.ModuleRule = function twice(ctx) {
      return [...ctx.defaultBackward(ctx.gradOutput), null];
    };
    expect(() => gb.nn.withModuleRule(fc, twice, () => gb.grad([gb.sum(fc.forward(x))], [x]))).toThrow(/'twice on Linear' for op 'module' returned 2 gradients; it must return 1/);
    expect(() => gb.nn.withModuleRule('fc1' as unknown as gb.nn.Module, twice, () => 0)).toThrow(/must be a layer/);
  });
});

describe('second-order gradients', () => {
  it('through a ReLU net (second derivative zero) are zeros, not an error', async () => {
    gb.manualSeed(5);
    const net = new gb.nn.Sequential(new gb.nn.Linear(3, 8), new gb.nn.ReLU(), new gb.nn.Linear(8, 1));
    const x = gb.randn([2, 3], { requiresGrad: true });
    const [g] = gb.grad([gb.sum(net.forward(x))], [x], { createGraph: true });
    const [gg] = gb.grad([gb.sum(gb.square(g!))], [x]);
    expect(gg!.shape).toEqual([2, 3]);
    expect(await arr(gg!)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('through max pooling, fused with its ReLU or alone, are zeros too (the pool\'s backward keeps x connected)', async () => {
    gb.manualSeed(6);
    // every ReLU sits in a ReLU + MaxPool2d pair, which Sequential runs as the fused reluMaxPool2d
    const fused = new gb.nn.Sequential(new gb.nn.Conv2d(1, 2, 3), new gb.nn.ReLU(), new gb.nn.MaxPool2d(2), new gb.nn.Flatten(), new gb.nn.Linear(18, 1));
    const pooledOnly = new gb.nn.Sequential(new gb.nn.MaxPool2d(2), new gb.nn.Flatten(), new gb.nn.Linear(4, 1));
    for (const [net, shape] of [[fused, [2, 1, 8, 8]], [pooledOnly, [1, 1, 4, 4]]] as const) {
      const x = gb.randn([...shape], { requiresGrad: true });
      const [g] = gb.grad([gb.sum(net.forward(x))], [x], { createGraph: true });
      expect(await arr(gb.abs(g!).sum())).not.toEqual([0]); // a real first-order gradient
      const [gg] = gb.grad([gb.sum(gb.square(g!))], [x]);
      expect(gg!.shape).toEqual([...shape]);
      expect((await arr(gg!)).every((v) => v === 0)).toBe(true);
    }
  });

  it('sign and floor connect with a zero derivative; an input truly not used still fails, naming why', async () => {
    const x = gb.tensor([-1.5, 2.5], { requiresGrad: true });
    expect(await arr(gb.grad([gb.sum(gb.floor(x))], [x])[0]!)).toEqual([0, 0]);
    const unused = gb.tensor([1], { requiresGrad: true });
    expect(() => gb.grad([gb.sum(gb.mul(x, 2))], [x, unused])).toThrow(/input 1 \(shape \[1\]\) is not connected to the outputs.*allowUnused/);
    expect(gb.grad([gb.sum(gb.mul(x, 2))], [x, unused], { allowUnused: true })[1]).toBeNull();
  });
});

describe('read and readItem: read a value you are done with, and free it', () => {
  it('return the values and dispose the tensors: a loop of them leaves memory flat (one op per read: its result is all it frees)', async () => {
    const x = gb.tensor([1, 2, 3]);
    const used: number[] = [];
    for (let step = 0; step < 50; step++) {
      expect(await gb.readItem(gb.sum(x))).toBe(6);
      expect(Array.from(await gb.read(gb.add(x, step)))).toEqual([1 + step, 2 + step, 3 + step]);
      used.push(gb.memory().bytesInUse);
    }
    expect(Math.max(...used.slice(5))).toBe(used[5]);
    const t = gb.mul(x, 2);
    expect(Array.from(await gb.read(t))).toEqual([2, 4, 6]);
    expect(() => gb.add(t, 1)).toThrow(/was disposed/);
  });

  it('take arrays of tensors; the methods toArrayAndDispose and itemAndDispose do the same', async () => {
    const [a, b] = [gb.tensor([1, 2]), gb.tensor(new Int32Array([7]), [1], { dtype: 'int32' })];
    const [va, vb] = await gb.read([a, b]);
    expect([Array.from(va!), vb]).toEqual([[1, 2], Int32Array.from([7])]);
    expect(await gb.readItem([gb.tensor([4]), gb.tensor([5])])).toEqual([4, 5]);
    const c = gb.tensor([1.5, 2.5]);
    expect(Array.from(await c.toArrayAndDispose())).toEqual([1.5, 2.5]);
    expect(await gb.tensor([9]).itemAndDispose()).toBe(9);
    expect(() => c.add(1)).toThrow(/was disposed/);
  });

  it('dispose even when the read fails, and name a wrong argument', async () => {
    const many = gb.tensor([1, 2]);
    await expect(gb.readItem(many)).rejects.toThrow(/item\(\) needs exactly one/);
    expect(() => gb.add(many, 1)).toThrow(/was disposed/);
    await expect(gb.read([1, 2] as unknown as gb.Tensor)).rejects.toThrow(/glassbox.read: expects a tensor or an array of tensors, got at index 0 1/);
    await expect(gb.readItem(undefined as unknown as gb.Tensor)).rejects.toThrow(/glassbox.readItem: expects a tensor or an array of tensors, got undefined/);
  });
});
