/** nn.summary: output shapes found by a hooked forward pass, parameter counts, and no side effects. */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { LeNet5 } from '../src/nn/models/lenet.ts';
import { CifarNet } from '../src/nn/models/cifar-net.ts';

describe('nn.summary', () => {
  it('lists every module of LeNet-5 with its output shape and parameter count', () => {
    const model = new LeNet5();
    const s = gb.nn.summary(model, [2, 1, 28, 28]);
    const byName = new Map(s.rows.map((r) => [r.name, r]));
    expect(s.outputShape).toEqual([2, 10]);
    expect(byName.get('features.0')).toMatchObject({ type: 'Conv2d', outputShape: [2, 6, 28, 28], ownParams: 6 * 25 + 6 });
    expect(byName.get('features.2')).toMatchObject({ type: 'MaxPool2d', outputShape: [2, 6, 14, 14], ownParams: 0 });
    expect(byName.get('features.5')!.outputShape).toEqual([2, 16, 5, 5]);
    expect(byName.get('classifier.0')).toMatchObject({ type: 'Flatten', outputShape: [2, 400] });
    expect(byName.get('classifier.1')).toMatchObject({ outputShape: [2, 120], ownParams: 400 * 120 + 120 });
    expect(byName.get('classifier')!.totalParams).toBe(400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10);
    // Own counts add up to the total: nothing counted twice, nothing missed.
    expect(s.rows.reduce((n, r) => n + r.ownParams, 0)).toBe(model.numParameters());
    expect(s.totalParams).toBe(61706);
    expect(s.trainableParams).toBe(61706);
    const text = s.toString();
    expect(text).toMatch(/features\.3 \(Conv2d\)\s+\[2, 16, 10, 10\]\s+2,416/);
    expect(text).toContain('Total params: 61,706');
  });

  it('leaves batch norm statistics and train/eval flags as they were', async () => {
    const model = new CifarNet();
    model.features.layers[1]!.eval(); // a mixed state must be restored exactly
    const before = await Promise.all(model.namedBuffers().map(([, t]) => t.toArray()));
    const flags = model.namedModules().map(([, m]) => m.training);
    const s = gb.nn.summary(model, [1, 3, 32, 32]);
    expect(s.rows.find((r) => r.name === 'features.17')!.outputShape).toEqual([1, 128, 8, 8]);
    expect(model.namedModules().map(([, m]) => m.training)).toEqual(flags);
    const after = await Promise.all(model.namedBuffers().map(([, t]) => t.toArray()));
    expect(after).toEqual(before);
    // Hooks are removed: a later forward records nothing more.
    gb.noGrad(() => model.eval().forward(gb.zeros([1, 3, 32, 32])).dispose());
    expect(gb.nn.summary(model, [1, 3, 32, 32]).rows.every((r) => r.calls <= 1)).toBe(true);
  });

  it('names the input shape when the forward pass cannot run on it', () => {
    expect(() => gb.nn.summary(new LeNet5(), [1, 3, 28, 28])).toThrow(/nn\.summary.*\[1, 3, 28, 28\]/s);
  });
});
