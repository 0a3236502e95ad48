/**
 * The lab's explanation methods, their option controls, and one call that explains an image: the
 * page and the browser test (in Node) both call `explain`, so the test checks the page's maps
 * against glassbox run the same way. Every method is glassbox's own, from its registry.
 */
import * as gb from '../../src/index.ts';

/** Methods fast enough to follow the drawing, in the order the menu shows them. */
export const LAB_METHODS = [
  'saliency',
  'input-x-gradient',
  'smoothgrad',
  'integrated-gradients',
  'guided-backprop',
  'deconvnet',
  'grad-cam',
  'grad-cam++',
  'guided-grad-cam',
  'occlusion',
  'deeplift',
] as const;

export type OptionValues = Record<string, number | string>;

export interface OptionControl {
  key: string;
  label: string;
  default: number | string;
  /** A number input with this range, or a menu of choices. */
  range?: { min: number; max: number; step: number };
  choices?: readonly string[];
}

const BASELINE: OptionControl = { key: 'baseline', label: 'baseline', default: 'black', choices: ['black', 'blurred', 'uniform-noise'] };

/** The controls of `method`; `layers` are the feature maps CAM-style methods may explain (default first). */
export function methodControls(method: string, layers: readonly string[]): OptionControl[] {
  switch (method) {
    case 'smoothgrad':
      return [
        { key: 'samples', label: 'noisy copies', default: 16, range: { min: 1, max: 100, step: 1 } },
        { key: 'noiseLevel', label: 'noise (share of range)', default: 0.15, range: { min: 0, max: 1, step: 0.05 } },
      ];
    case 'integrated-gradients':
      return [{ key: 'steps', label: 'steps', default: 32, range: { min: 1, max: 256, step: 1 } }, BASELINE];
    case 'deeplift':
      return [BASELINE];
    case 'occlusion':
      return [
        { key: 'window', label: 'window', default: 4, range: { min: 1, max: 14, step: 1 } },
        { key: 'stride', label: 'stride', default: 2, range: { min: 1, max: 14, step: 1 } },
      ];
    case 'grad-cam':
    case 'grad-cam++':
    case 'guided-grad-cam':
      return [{ key: 'layer', label: 'layer', default: layers[0] ?? '', choices: layers }];
    default:
      return [];
  }
}

/** The values of `method`'s options: those given, else the defaults. */
export function optionValues(method: string, layers: readonly string[], given: OptionValues = {}): OptionValues {
  return Object.fromEntries(methodControls(method, layers).map((c) => [c.key, given[c.key] ?? c.default]));
}

/**
 * The feature maps a CAM-style method may explain: every conv layer's output and the ReLU after it;
 * the default (first) is the last ReLU after the last conv, as `glassbox explain` picks for nets
 * without global average pooling.
 */
export function camLayers(model: gb.nn.Module): string[] {
  const modules = model.namedModules().filter(([name]) => name !== '');
  const maps: string[] = [];
  modules.forEach(([name, m], i) => {
    if (!(m instanceof gb.nn.Conv2d)) return;
    maps.push(name);
    const relu = modules.slice(i + 1).find(([, r]) => r instanceof gb.nn.ReLU || r instanceof gb.nn.Conv2d);
    if (relu && relu[1] instanceof gb.nn.ReLU) maps.push(relu[0]);
  });
  return maps.reverse();
}

export interface ExplainedMap {
  method: string;
  /** [h*w] pixel scores (summed over channels). */
  values: Float64Array;
  h: number;
  w: number;
  signed: boolean;
}

/** `method`'s map of `input` [1, 1, 28, 28] (normalised) for class `target`, with the lab's options. */
export async function explain(
  model: gb.nn.Module,
  method: string,
  input: gb.Tensor,
  target: number,
  values: OptionValues,
  normalization: gb.Normalization,
): Promise<ExplainedMap> {
  const spec = gb.xai.methodSpec(method);
  const { layer, ...rest } = values;
  const fallbackLayer = camLayers(model)[0] ?? '';
  const attribution = spec.create(model, { layer: String(layer ?? fallbackLayer) });
  const usesBaseline = 'baseline' in rest;
  const opts = { target, ...rest, ...(usesBaseline ? { normalization } : {}) };
  const map = await attribution.attribute(input, opts as gb.xai.AttributeOptions);
  try {
    const [scores] = await gb.xai.mapScores(map);
    return { method, values: scores!, h: map.shape[2]!, w: map.shape[3]!, signed: spec.signed };
  } finally {
    map.dispose();
  }
}
