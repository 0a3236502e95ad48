import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { create } from '../src/nn/models/index.ts';

await gb.init();

const shapes = (name: string) =>
  Object.fromEntries(create(name, { height: 56, width: 56, classes: 45 }).namedParameters().map(([n, p]) => [n, p.shape]));

describe('mixture-of-MNIST variants (catalogue E3)', () => {
  it('the wide variant has 3x the units at conv3 only (30), and the classifier reads all of them', () => {
    const base = shapes('mixture-net');
    const wide = shapes('mixture-net-wide');
    expect(wide['features.0.weight']).toEqual(base['features.0.weight']);
    expect(wide['features.3.weight']).toEqual(base['features.3.weight']);
    expect(base['features.6.weight']).toEqual([10, 20, 5, 5]);
    expect(wide['features.6.weight']).toEqual([30, 20, 5, 5]);
    expect(wide['fc.weight']).toEqual([45, 30]);
  });
  it('the dropout variant has the base net\'s parameters', () => {
    expect(shapes('mixture-net-dropout')).toEqual(shapes('mixture-net'));
  });
});
