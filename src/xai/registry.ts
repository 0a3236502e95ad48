/**
 * Every explanation method by name, for the CLI (`glassbox explain --method`, `glassbox evaluate
 * --methods all`) and the report. Each method family file exports its entries.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Attribution, AttributeOptions } from './attribution.ts';

export interface MethodContext {
  /** Conv layer path for CAM-style methods (default: the last conv block's output). */
  layer: string;
  /** Images of the data set (already normalised), for baselines drawn from data (expected gradients, SHAP). */
  background?: Tensor;
}

export interface MethodSpec {
  name: string;
  /** Catalogue id (A1, B1, ...). */
  catalogue: string;
  description: string;
  /** 'input': a map over input pixels [N, C, H, W]; 'layer': a map at a layer, upsampled to [N, 1, H, W]. */
  output: 'input' | 'layer';
  /** Whether the map is signed (attributions) or non-negative (saliency, CAM). */
  signed: boolean;
  create(model: Module, ctx: MethodContext): Attribution<AttributeOptions>;
}

const registered: MethodSpec[] = [];

export function registerMethods(specs: readonly MethodSpec[]): void {
  for (const s of specs) {
    if (registered.some((r) => r.name === s.name)) throw new Error(`glassbox.xai: method '${s.name}' registered twice`);
    registered.push(s);
  }
}

export function allMethods(): readonly MethodSpec[] {
  return registered;
}

export function methodSpec(name: string): MethodSpec {
  const s = registered.find((m) => m.name === name);
  if (!s) throw new Error(`glassbox: unknown method '${name}'. Known methods: ${registered.map((m) => m.name).join(', ')}`);
  return s;
}
