/**
 * Every explanation method by name, for the CLI (`glassbox explain --method`, `glassbox evaluate
 * --methods all`) and the report. Each method family file exports its entries.
 */
import { AdaptiveAvgPool2d, Conv2d } from '../nn/conv-layers.ts';
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Attribution, AttributeOptions } from './attribution.ts';
import { checkOptions, describeValue, type OptionSchema } from '../tensor/check-options.ts';

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
  /** What the method needs of the model's structure (default: nothing); see notApplicableReason. */
  requires?: readonly MethodRequirement[];
}

/**
 * Structure a method needs: 'feature-map', a Conv2d whose output it explains (CAM-style
 * methods); 'global-average-pooling', global average pooling before a linear classifier, where
 * CAM is defined (Zhou et al. 2016: the logit is the mean of the class's map).
 */
export type MethodRequirement = 'feature-map' | 'global-average-pooling';

const isGlobalAveragePooling = (m: Module) => m instanceof AdaptiveAvgPool2d && (m.outputSize === 1 || (Array.isArray(m.outputSize) && m.outputSize.every((s) => s === 1)));

const REQUIREMENTS: Record<MethodRequirement, { met: (modules: Module[]) => boolean; reason: string }> = {
  'feature-map': { met: (ms) => ms.some((m) => m instanceof Conv2d), reason: 'it explains a conv layer\'s feature map and the model has no Conv2d' },
  'global-average-pooling': {
    met: (ms) => ms.some(isGlobalAveragePooling),
    reason: 'CAM is defined for nets that end in global average pooling and a linear layer, and this model has none (Grad-CAM generalises CAM to any conv net)',
  },
};

/**
 * Why `method` cannot explain `model` (undefined when it can), from the model's structure
 * alone, so a caller skips it and reports "not applicable: <reason>" instead of running it to a
 * failure.
 */
export function notApplicableReason(method: MethodSpec, model: Module): string | undefined {
  const modules = model.namedModules().map(([, m]) => m);
  return (method.requires ?? []).map((r) => REQUIREMENTS[r]).find((r) => !r.met(modules))?.reason;
}

const registered: MethodSpec[] = [];

const METHOD_SPEC: OptionSchema = { name: 'string', catalogue: 'string', description: 'string', output: ['=input', '=layer'], signed: 'boolean', create: 'function', requires: 'strings' };

/** Checks a spec a user wrote (plain JavaScript, a `--plugin` module) before it joins the table. */
function checkSpec(s: MethodSpec, i: number): void {
  const where = `xai.registerMethods (spec ${i}${typeof s?.name === 'string' ? `, '${s.name}'` : ''})`;
  checkOptions(where, s, METHOD_SPEC, ['name', 'catalogue', 'description', 'output', 'signed', 'create']);
  if (s.requires !== undefined && !s.requires.every((r) => Object.hasOwn(REQUIREMENTS, r)))
    throw new Error(`glassbox.${where}: requires must be an array of ${Object.keys(REQUIREMENTS).map((r) => `'${r}'`).join(', ')}, got ${describeValue(s.requires)}`);
}

/** Adds methods to the table that `glassbox explain` and `glassbox evaluate` choose from (a `--plugin` module's `methods` come here). */
export function registerMethods(specs: readonly MethodSpec[]): void {
  if (!Array.isArray(specs)) throw new Error(`glassbox.xai.registerMethods: expects an array of method specs, got ${describeValue(specs)}`);
  specs.forEach(checkSpec);
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
