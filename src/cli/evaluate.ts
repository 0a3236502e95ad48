/**
 * `glassbox evaluate`: every registered explanation method on the same images of a data set,
 * scored by the same metrics (src/xai/metrics.ts): deletion and insertion AUC, on
 * mixture-of-MNIST the pointing game and energy in the digit masks, the completeness error of the
 * methods that promise completeness, and run time per image. report.ts writes the table (Markdown
 * and JSON), the curves, the maps and the HTML report into --out.
 */
import { join } from 'node:path';
import * as gb from '../index.ts';
import { datasetSpec } from '../train/datasets.ts';
import { notApplicableReason, type MethodSpec } from '../xai/registry.ts';
import { completenessError, deletionInsertion, energyInMask, mapScores, pointingHit, type CompletenessReference, type CurveOptions } from '../xai/metrics.ts';
import type { ImageDataset } from '../../datasets/index.ts';
import type { MixtureDataset } from '../../datasets/mixture-mnist.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { defaultCamLayer, loadTrained, methodsByName, type LoadedModel } from './explain-setup.ts';
import { writeEvaluation } from './report.ts';
import { loadPlugins } from './plugins.ts';

export { EVALUATE_OPTIONS } from './options.ts';

/**
 * The reference whose score the attributions of these methods sum up to, as the registry creates
 * them: IG and DeepLIFT start from the all-zero input; GradientSHAP's values sum to
 * f(x) - E[f(background)], the background being the evaluated images. Other methods promise no
 * completeness and get none.
 */
const COMPLETENESS_REFERENCE: Record<string, (input: gb.Tensor) => CompletenessReference> = {
  'integrated-gradients': (input) => ({ baseline: gb.zerosLike(input) }),
  deeplift: (input) => ({ baseline: gb.zerosLike(input) }),
  'gradient-shap': (input) => ({ background: input }),
};

export interface MethodResult {
  method: string;
  catalogue: string;
  secondsPerImage: number;
  deletionAuc: number;
  insertionAuc: number;
  pointingGame?: number;
  energyInMask?: number;
  /** Mean relative completeness error (methods in COMPLETENESS_REFERENCE only). */
  completenessError?: number;
  /** Mean curves over the images. */
  deletion: number[];
  insertion: number[];
  /** Per image, the map summed over channels [H*W]. */
  maps: Float64Array[];
  error?: string;
  /** Why the method does not apply to this model (registry's notApplicableReason); it was not run. */
  notApplicable?: string;
}

export interface Evaluation {
  images: ImageDataset;
  input: gb.Tensor;
  predicted: number[];
  labels: number[];
  results: MethodResult[];
  substitute: NonNullable<CurveOptions['substitute']>;
}

export interface EvaluateOptions extends CurveOptions {
  /** CAM layer (default: defaultCamLayer: the map global average pooling reads, else the last conv's ReLU). */
  layer?: string;
  /** Images per attribute() call (default 8). */
  imagesPerCall?: number;
  log?: (line: string) => void;
}

const average = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i)).reduce((a, b) => a + b, 0) / n;

/** Union of image i's object masks (mixture-of-MNIST's digits) as one [H*W] 0/1 mask. */
export function objectMask(data: MixtureDataset, i: number): Uint8Array {
  const hw = data.height * data.width;
  const u = new Uint8Array(hw);
  for (let s = 0; s < data.slots; s++) for (let p = 0; p < hw; p++) u[p]! |= data.masks[(i * data.slots + s) * hw + p]!;
  return u;
}

/** One method on the whole batch, scored. */
async function scoreMethod(model: gb.nn.Module, m: MethodSpec, input: gb.Tensor, predicted: number[], data: ImageDataset, opts: EvaluateOptions): Promise<MethodResult> {
  const n = predicted.length;
  const [h, w] = [input.shape[2]!, input.shape[3]!];
  // only CAM-style methods read the layer; a model without conv layers has none to default to
  const layer = opts.layer ?? (m.requires?.includes('feature-map') ? defaultCamLayer(model, input) : '');
  const method = m.create(model, { layer, background: input });
  const started = performance.now();
  // a few images at a time: methods batch their samples internally (SmoothGrad's noisy copies,
  // IG's path points), so memory grows with images x samples
  const chunk = opts.imagesPerCall ?? 8;
  const parts: gb.Tensor[] = [];
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const x = gb.slice(input, 0, { start, end });
    parts.push(await method.attribute(x, { target: predicted.slice(start, end) }));
    x.dispose();
  }
  const attribution = parts.length === 1 ? parts[0]! : gb.tidy(() => gb.cat(parts, 0));
  if (parts.length > 1) parts.forEach((p) => p.dispose());
  const secondsPerImage = (performance.now() - started) / 1000 / n;
  try {
    const curves = await deletionInsertion(model, input, attribution, predicted, opts);
    const maps = await mapScores(attribution);
    const r: MethodResult = {
      method: m.name,
      catalogue: m.catalogue,
      secondsPerImage,
      deletionAuc: average(n, (i) => curves[i]!.deletionAuc),
      insertionAuc: average(n, (i) => curves[i]!.insertionAuc),
      deletion: curves[0]!.deletion.map((_, k) => average(n, (i) => curves[i]!.deletion[k]!)),
      insertion: curves[0]!.insertion.map((_, k) => average(n, (i) => curves[i]!.insertion[k]!)),
      maps,
    };
    const mixture = data as Partial<MixtureDataset>;
    if (mixture.masks?.length) {
      r.pointingGame = average(n, (i) => pointingHit(maps[i]!, objectMask(data as MixtureDataset, i), h, w));
      r.energyInMask = average(n, (i) => energyInMask(maps[i]!, objectMask(data as MixtureDataset, i)));
    }
    const reference = COMPLETENESS_REFERENCE[m.name];
    if (reference) {
      const ref = reference(input);
      const errors = await completenessError(model, input, attribution, predicted, ref);
      if ('baseline' in ref) ref.baseline.dispose();
      r.completenessError = average(n, (i) => errors[i]!);
    }
    return r;
  } finally {
    attribution.dispose();
  }
}

/** Every method in `methods` on the first `n` validation images of the model's data set, explaining the predicted class. */
export async function evaluateMethods(loaded: LoadedModel, methods: readonly MethodSpec[], n: number, opts: EvaluateOptions = {}): Promise<Evaluation> {
  const log = opts.log ?? ((s: string) => console.error(s));
  const spec = datasetSpec(loaded.dataset);
  const data = await spec.load('validation', n, { masks: true });
  const [c, h, w] = [data.channels, data.height, data.width];
  const channelOf = (i: number) => Math.min(Math.floor(i / (h * w)) % c, spec.mean.length - 1);
  const input = gb.tensor(Float32Array.from(data.images.subarray(0, n * c * h * w), (v, i) => (v / 255 - spec.mean[channelOf(i)]!) / spec.std[channelOf(i)]!), [n, c, h, w]);
  const predicted = Array.from(await gb.tidy(() => gb.noGrad(() => gb.argmax(loaded.model.forward(input), { dim: 1 }))).toArray());
  const results: MethodResult[] = [];
  for (const m of methods) {
    const reason = notApplicableReason(m, loaded.model);
    if (reason) {
      results.push({ method: m.name, catalogue: m.catalogue, secondsPerImage: NaN, deletionAuc: NaN, insertionAuc: NaN, deletion: [], insertion: [], maps: [], notApplicable: reason });
      log(`  ${m.name.padEnd(24)} not applicable: ${reason}`);
      continue;
    }
    try {
      const r = await scoreMethod(loaded.model, m, input, predicted, data, opts);
      results.push(r);
      const scores = [
        `deletion AUC ${r.deletionAuc.toFixed(3)}`,
        `insertion AUC ${r.insertionAuc.toFixed(3)}`,
        r.pointingGame === undefined ? '' : `pointing ${r.pointingGame.toFixed(2)}  energy ${r.energyInMask!.toFixed(2)}`,
        r.completenessError === undefined ? '' : `completeness error ${r.completenessError.toFixed(4)}`,
        `${r.secondsPerImage.toFixed(3)} s/image`,
      ];
      log(`  ${m.name.padEnd(24)} ${scores.filter(Boolean).join('  ')}`);
    } catch (e) {
      // one broken method must not cost the whole table: it is reported in its row
      results.push({ method: m.name, catalogue: m.catalogue, secondsPerImage: NaN, deletionAuc: NaN, insertionAuc: NaN, deletion: [], insertion: [], maps: [], error: (e as Error).message });
      log(`  ${m.name.padEnd(24)} failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { images: data, input, predicted, labels: Array.from(data.labels.subarray(0, n)), results, substitute: opts.substitute ?? 'blur' };
}

export async function evaluateCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const str = (name: string) => (o[name] === undefined ? undefined : stringOption(o, name, ''));
  const modelPath = str('model');
  if (!modelPath) throw new UsageError('evaluate needs --model <run folder> (or a .safetensors file with --arch and --dataset)');
  const loaded = await loadTrained(modelPath, str('arch'), str('dataset'));
  const plugins = await loadPlugins(str('plugin') ?? '');
  if (plugins.length) console.error(`--plugin: registered ${plugins.join(', ')}`);
  const methods = methodsByName(stringOption(o, 'methods', 'all'));
  const n = numberOption(o, 'n', 16);
  const substitute = stringOption(o, 'substitute', 'blur');
  if (substitute !== 'blur' && substitute !== 'mean' && substitute !== 'zero') throw new UsageError(`--substitute must be blur, mean or zero, got '${substitute}'`);
  const out = stringOption(o, 'out', join('runs', `evaluate-${loaded.arch}-${loaded.dataset}`));
  const started = performance.now();
  console.error(`evaluating ${methods.length} methods on ${n} ${loaded.dataset} images with ${loaded.arch}`);
  const ev = await evaluateMethods(loaded, methods, n, { layer: str('layer'), substitute, steps: numberOption(o, 'steps', 32) });
  const seconds = (performance.now() - started) / 1000;
  writeEvaluation(ev, out, `glassbox evaluate: ${loaded.arch} on ${loaded.dataset}`, { seconds, command: `glassbox evaluate ${process.argv.slice(3).join(' ')}` });
  console.log(`evaluated ${methods.length} methods on ${n} images in ${seconds.toFixed(0)} s; table in ${join(out, 'evaluation.md')}, report ${join(out, 'report.html')}`);
}
