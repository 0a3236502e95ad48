import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { forwardNamingLayer, locateFailingLayer } from '../src/nn/layer-errors.ts';
import { LeNet5 } from '../src/nn/models/lenet.ts';
import { channel, renderVis } from '../src/xai/optimize/index.ts';

await gb.init();

describe('errors that name the layer', () => {
  it('an input too small for LeNet-5 fails at its second conv, and the error says so with the shape that reached it', () => {
    const model = new LeNet5();
    const x = gb.rand([1, 1, 8, 8]);
    // 8x8 -> conv 5x5 pad 2 -> 8x8 -> pool -> 4x4: the second conv's 5x5 kernel no longer fits
    expect(() => forwardNamingLayer(model, () => model.forward(x))).toThrow(/^layer features\.3 \(Conv2d, input \[1, 6, 4, 4\]\): glassbox\.conv2d: kernel height 5/);
    expect(locateFailingLayer(model, () => model.forward(x))).toEqual({ path: 'features.3', kind: 'Conv2d', input: '[1, 6, 4, 4]' });
    x.dispose();
  });
  it('a forward that works is untouched, the hooks are gone and the training flags restored after a failure', async () => {
    const model = new LeNet5();
    model.train();
    expect(() => forwardNamingLayer(model, () => model.forward(gb.zeros([1, 1, 8, 8])))).toThrow(/features\.3/);
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    const y = forwardNamingLayer(model, () => model.forward(gb.zeros([2, 1, 28, 28])));
    expect(y.shape).toEqual([2, 10]);
    expect(locateFailingLayer(model, () => model.forward(gb.zeros([1, 1, 28, 28])))).toBeNull();
  });
  it('nn.summary and feature visualisation at a size the net cannot take name the failing layer', async () => {
    expect(() => gb.nn.summary(new LeNet5(), [1, 3, 28, 28])).toThrow(/layer features\.0 \(Conv2d, input \[1, 3, 28, 28\]\)/);
    await expect(renderVis(new LeNet5(), channel('features.4', 0), { inputShape: [1, 8, 8], normalization: gb.normalization.mnist!, steps: 1 })).rejects.toThrow(/layer features\.3 \(Conv2d, input \[1, 6, 4, 4\]\)/);
  });
});
