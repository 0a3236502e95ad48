// A custom attribution method, written outside the package and scored by `glassbox evaluate` next
// to the built-in ones: Integrated Gradients by hand (Sundararajan et al. 2017; a midpoint Riemann
// sum from the all-zero input), and a random map, the control every method must beat.
// `--plugin` imports this module and registers the specs it exports as `methods`:
//   glassbox evaluate --model tests/fixtures/models/lenet-mnist.safetensors --arch lenet5 --dataset mnist \
//     --plugin examples/custom-attribution.mjs --methods saliency,integrated-gradients,ig-by-hand,random-map --n 16
// Run directly, it checks completeness (each map sums to S(x) - S(0)) on a few test images:
//   node examples/custom-attribution.mjs [--model file.safetensors] [--n 8] [--steps 32]
import * as gb from 'glassbox/node';

/** The same shape as every method: new Method(model).attribute(input, {target, ...}) -> a map like input. */
export class IGByHand extends gb.xai.Attribution {
  async attribute(input, opts) {
    // plain JavaScript never type-checks: an unknown option or a wrong kind fails here, by name
    gb.xai.checkAttributeOptions('IGByHand', opts, { steps: 'number' });
    const steps = opts.steps ?? 32;
    return gb.tidy(() => {
      let total = gb.zerosLike(input);
      for (let k = 0; k < steps; k++) {
        const point = gb.mul(input, (k + 0.5) / steps).detach().requiresGrad_();
        const scores = gb.xai.targetScores(this.model.forward(point), opts.target, opts.score);
        total = gb.add(total, gb.grad([scores.sum()], [point])[0]);
      }
      return gb.mul(input, gb.div(total, steps)); // (x - 0) times the mean gradient on the path
    });
  }
}

export class RandomMap extends gb.xai.Attribution {
  async attribute(input, opts) {
    gb.xai.checkAttributeOptions('RandomMap', opts);
    return gb.rand(input.shape);
  }
}

export const methods = [
  {
    name: 'ig-by-hand',
    catalogue: 'example',
    description: 'Integrated Gradients written with gb.grad (32 midpoint steps from the zero input)',
    output: 'input',
    signed: true,
    create: (model) => new IGByHand(model),
  },
  { name: 'random-map', catalogue: 'control', description: 'Uniform noise: what a map that knows nothing scores', output: 'input', signed: false, create: (model) => new RandomMap(model) },
];

const runDirectly = process.argv[1] === (import.meta.filename ?? decodeURIComponent(new URL(import.meta.url).pathname));
if (runDirectly) {
  const arg = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
  const { model, normalization } = await gb.loadModel(arg('model', new URL('../tests/fixtures/models/lenet-mnist.safetensors', import.meta.url).pathname));
  const { images, labels } = await gb.datasets.mnist({ split: 'test', limit: Number(arg('n', 8)) });
  const x = gb.normalize(images, normalization);
  const map = await new IGByHand(model).attribute(x, { target: labels, steps: Number(arg('steps', 32)) });
  const scoreOf = (input) => gb.noGrad(() => gb.xai.targetScores(model.forward(input), labels));
  const [sums, delta] = await gb.read([map.flatten(1).sum({ dim: 1 }), gb.sub(scoreOf(x), scoreOf(gb.zerosLike(x)))]);
  const relativeErrors = Array.from(sums, (s, i) => Math.abs(s - delta[i]) / Math.abs(delta[i]));
  console.log(JSON.stringify({ images: sums.length, maxRelativeCompletenessError: Math.max(...relativeErrors) }));
}
