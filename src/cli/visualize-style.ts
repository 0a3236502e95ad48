/**
 * `glassbox visualize style`: A3 neural style transfer (src/xai/visualize/style-transfer.ts).
 * The content is a PNG or a CIFAR-10 test image (--content-index), the style a PNG, a generated
 * texture (stripes, checks) or a CIFAR-10 test image (--style-index); both are resized to
 * --size x --size. The net is Ustyuzhaninov et al.'s random multi-scale net (the default: no
 * ImageNet VGG exists here), a zoo architecture with seeded random weights (e.g. cifar-net), or a
 * trained run / .safetensors. Writes style.png (content | style | result), loss.png (content and
 * style loss per step, log scale) and style.json (every number).
 */
import { existsSync } from 'node:fs';
import { withSeed } from '../xai/baselines.ts';
import { normalization as NORMALIZATIONS, type Normalization } from '../data/normalization.ts';
import type { Module } from '../nn/module.ts';
import { MODEL_ZOO } from '../nn/models/zoo.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { clamp } from '../tensor/ops/elementwise.ts';
import { interpolate } from '../tensor/ops/resample.ts';
import { cat } from '../tensor/ops/views.ts';
import { noGrad } from '../autograd/node.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { readPng } from '../viz/files.ts';
import { linePlot } from '../viz/plot.ts';
import { featureGrid } from '../xai/visualize/features.ts';
import { generatedTexture, RandomMultiScaleNet, styleTransfer } from '../xai/visualize/style-transfer.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

const TEXTURES = ['stripes', 'checks'] as const;

interface StyleNet {
  model: Module;
  description: string;
  normalization: Normalization;
  contentLayer: string;
  styleLayers: string[];
}

/** Default layers of the CIFAR net (conv-bn-relu x2 per stage): content after stage 2, style at every ReLU of stages 1-3's first halves. */
const CIFAR_NET_LAYERS = { content: 'features.12', style: ['features.2', 'features.5', 'features.9', 'features.12', 'features.16'] };

async function styleNet(o: ParsedArgs['options']): Promise<StyleNet> {
  const name = stringOption(o, 'net', 'random-multiscale');
  const seed = numberOption(o, 'seed', 0);
  const layersFrom = (defaults: { content: string; style: string[] } | null) => {
    const content = o['content-layer'] === undefined ? defaults?.content : stringOption(o, 'content-layer', '');
    const style = o['style-layers'] === undefined ? defaults?.style : stringOption(o, 'style-layers', '').split(',').map((s) => s.trim());
    if (!content || !style) throw new UsageError(`--net ${name}: give --content-layer <path> and --style-layers <path,path,...> (glassbox lists the paths when one is unknown)`);
    return { contentLayer: content, styleLayers: style };
  };
  if (name === 'random-multiscale') {
    const model = new RandomMultiScaleNet({ filtersPerScale: numberOption(o, 'filters', 64), seed });
    const paths = model.layerPaths();
    return { model, description: `random multi-scale net (kernels 3, 5, 7, 11; seed ${seed})`, normalization: NORMALIZATIONS.cifar10!, ...layersFrom({ content: paths[paths.length - 1]!, style: paths }) };
  }
  if (name in MODEL_ZOO && !existsSync(name)) {
    // a zoo architecture at CIFAR-10's input with seeded random weights (no trained run is needed)
    const model = withSeed(seed, () => MODEL_ZOO[name]!.build({ channels: 3, height: 32, width: 32, classes: 10 }));
    model.eval();
    return { model, description: `${name} with random weights (seed ${seed})`, normalization: NORMALIZATIONS.cifar10!, ...layersFrom(name === 'cifar-net' ? CIFAR_NET_LAYERS : null) };
  }
  if (!existsSync(name)) throw new UsageError(`--net ${name}: not 'random-multiscale', a model of the zoo (${Object.keys(MODEL_ZOO).join(', ')}), a run folder or a .safetensors file`);
  const loaded = await loadForVisualization({ ...o, model: name });
  return { model: loaded.model, description: `${loaded.arch} trained (${name})`, normalization: loaded.normalization, ...layersFrom(loaded.arch === 'cifar-net' ? CIFAR_NET_LAYERS : null) };
}

/** A PNG, a generated texture or a CIFAR-10 test image as [1, 3, size, size] in [0, 1] (bilinear resize), with a caption. */
async function loadImage(o: ParsedArgs['options'], which: 'content' | 'style', size: number): Promise<{ image: Tensor; caption: string }> {
  const path = o[which] === undefined ? undefined : stringOption(o, which, '');
  const index = o[`${which}-index`] === undefined ? undefined : numberOption(o, `${which}-index`, 0);
  if ((path === undefined) === (index === undefined)) throw new UsageError(`give either --${which} <png${which === 'style' ? '|stripes|checks' : ''}> or --${which}-index <i> (a CIFAR-10 test image)`);
  if (which === 'style' && (TEXTURES as readonly string[]).includes(path ?? '')) return { image: generatedTexture(path as (typeof TEXTURES)[number], size), caption: `${path} (generated)` };
  let chw: Tensor;
  let caption: string;
  if (path !== undefined) {
    if (!existsSync(path)) throw new UsageError(`--${which} ${path}: no such file${which === 'style' ? `; give a PNG or one of ${TEXTURES.join(', ')}` : ''}`);
    const png = readPng(path);
    const values = new Float32Array(3 * png.width * png.height);
    for (let p = 0; p < png.width * png.height; p++) for (let ch = 0; ch < 3; ch++) values[ch * png.width * png.height + p] = png.data[4 * p + ch]! / 255;
    chw = tensor(values, [1, 3, png.height, png.width]);
    caption = path.split('/').pop()!;
  } else {
    const data = await datasetSpec('cifar10').load('validation', index! + 1);
    if (index! >= data.n) throw new UsageError(`--${which}-index ${index}: the CIFAR-10 test set here has ${data.n} images (0 to ${data.n - 1})`);
    const n = 3 * 32 * 32;
    chw = tensor(Float32Array.from(data.images.subarray(index! * n, (index! + 1) * n), (v) => v / 255), [1, 3, 32, 32]);
    caption = `CIFAR-10 #${index} (${data.classes[data.labels[index!]!]})`;
  }
  if (chw.shape[2] === size && chw.shape[3] === size) return { image: chw, caption };
  const image = noGrad(() => tidy(() => clamp(interpolate(chw, { size, mode: 'bilinear', alignCorners: false }), { min: 0, max: 1 })));
  chw.dispose();
  return { image, caption };
}

export async function visualizeStyleCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const size = numberOption(o, 'size', 128);
  const steps = numberOption(o, 'steps', 100);
  const optimizer = stringOption(o, 'optimizer', 'lbfgs') as 'lbfgs' | 'adam';
  const net = await styleNet(o);
  const content = await loadImage(o, 'content', size);
  const style = await loadImage(o, 'style', size);
  const out = stringOption(o, 'out', 'runs/visualize-style');
  const contentWeight = numberOption(o, 'content-weight', 1);
  const styleWeight = numberOption(o, 'style-weight', 10);
  const start = stringOption(o, 'start', 'content') as 'content' | 'noise';
  console.error(`style transfer on the ${net.description}: ${content.caption} in the style of ${style.caption}, ${size}x${size}, ${steps} ${optimizer} steps`);
  const progress = new Progress({ label: 'style', total: steps, unit: 'step' });
  const started = performance.now();
  const result = await styleTransfer(net.model, content.image, style.image, {
    normalization: net.normalization,
    contentLayer: net.contentLayer,
    styleLayers: net.styleLayers,
    contentWeight,
    styleWeight,
    start,
    optimizer,
    lr: o.lr === undefined ? undefined : numberOption(o, 'lr', 1),
    steps,
    seed: numberOption(o, 'seed', 0),
    onStep: (step, loss) => (step < steps ? progress.update(step, { loss }) : undefined),
  });
  const seconds = (performance.now() - started) / 1000;
  progress.done({ loss: result.totalLoss[result.totalLoss.length - 1]! });
  const output = new CommandOutput(out, `Style transfer: ${content.caption} in the style of ${style.caption}`);
  output.report.paragraph(
    `Gatys et al. 2016 on the ${net.description}: content at ${net.contentLayer}, Gram matrices at ${net.styleLayers.join(', ')}, ${steps} ${optimizer} steps from the ${start} image, ${size}x${size}; ` +
      `style loss ${result.initial.style.toPrecision(3)} -> ${result.final.style.toPrecision(3)} (${(result.initial.style / result.final.style).toFixed(1)}x lower), content loss ${result.final.content.toPrecision(3)}, ${seconds.toFixed(1)} s.`,
  );
  const all = noGrad(() => tidy(() => cat([content.image, style.image, result.image], 0)));
  output.png('style.png', await featureGrid(all, ['content', 'style', `result (${optimizer}, ${steps} steps)`], { tileScale: 1 }), 'the content image, the style image and the result');
  all.dispose();
  output.png(
    'loss.png',
    linePlot(
      [
        { name: 'style loss', y: result.styleLoss },
        // the first steps from the content image have content loss 0, which a log scale leaves out
        { name: 'content loss', y: result.contentLoss },
      ],
      { title: `style transfer (${optimizer})`, xLabel: 'step', yLabel: 'loss (normalised, log scale)', logY: true, xFromOne: true },
    ),
    'style and content loss per step',
  );
  output.json('style.json', {
    net: net.description,
    content: content.caption,
    style: style.caption,
    size,
    optimizer,
    steps,
    start,
    contentLayer: net.contentLayer,
    styleLayers: net.styleLayers,
    contentWeight,
    styleWeight,
    seconds,
    stepsPerSecond: steps / seconds,
    initial: result.initial,
    final: result.final,
    styleLossFall: result.initial.style / result.final.style,
    perStep: result.contentLoss.map((c, i) => ({ step: i + 1, content: c, style: result.styleLoss[i], total: result.totalLoss[i] })),
  });
  output.finish();
  console.log(`style loss ${result.initial.style.toPrecision(3)} -> ${result.final.style.toPrecision(3)} (${(result.initial.style / result.final.style).toFixed(1)}x lower), content loss ${result.final.content.toPrecision(3)}; style.png, loss.png, style.json and report.html in ${out} (${seconds.toFixed(1)} s)`);
  [content.image, style.image, result.image].forEach((t) => t.dispose());
}
