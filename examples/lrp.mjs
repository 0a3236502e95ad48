// Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) written as module rules:
// LRP-epsilon on the dense layers, LRP-gamma on the convolutions, each attached to a layer instance.
// The backward signal is relevance / activation, so relevance = input x (rule-modified) gradient.
//   node examples/lrp.mjs [--model file.safetensors] [--n 8] [--eps 0.25] [--gamma 0.25] [--out lrp.png]
import * as gb from 'glassbox/node';

const arg = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const modelPath = arg('model', new URL('../tests/fixtures/models/lenet-mnist.safetensors', import.meta.url).pathname);
const n = Number(arg('n', 8));
const out = arg('out', 'lrp.png');

/** z + tiny * sign(z), never 0: a denominator. */
const stabilise = (z) => gb.add(z, gb.where(gb.ge(z, 0), 1e-9, -1e-9));

/** LRP-epsilon: R_in = a * W^T (R_out / (z + eps sign z)), with R_out = z * gradient. */
const lrpEpsilon = (eps) =>
  function lrpEpsilon({ output: z, gradOutput: g, defaultBackward }) {
    return defaultBackward(gb.div(gb.mul(z, g), stabilise(gb.add(z, gb.mul(gb.sign(z), eps)))));
  };

/** LRP-gamma: the layer run again with weights w + gamma w+ (and bias b + gamma b+), as the denominator and the backward. */
const lrpGamma = (gamma) =>
  function lrpGamma({ module, inputs: [a], output: z, gradOutput: g }) {
    const boost = (w) => w && gb.add(w, gb.mul(gb.relu(w), gamma));
    const { stride, padding, dilation, groups } = module.opts;
    const x = a.detach().requiresGrad_();
    const zg = gb.enableGrad(() => gb.conv2d(x, boost(module.weight), boost(module.bias), { stride, padding, dilation, groups }));
    return gb.grad([zg], [x], { gradOutputs: [gb.div(gb.mul(z, g), stabilise(zg))] });
  };

/** Runs fn with each [layer, rule] pair attached. */
const withRules = (pairs, fn) => (pairs.length ? gb.nn.withModuleRule(pairs[0][0], pairs[0][1], () => withRules(pairs.slice(1), fn)) : fn());

const { model, normalization } = await gb.loadModel(modelPath);
const { images, labels } = await gb.datasets.mnist({ split: 'test', limit: n });
const layers = model.namedModules().map(([, m]) => m);
const rulesFor = (eps, gamma) => layers.flatMap((m) => (m instanceof gb.nn.Conv2d ? [[m, lrpGamma(gamma)]] : m instanceof gb.nn.Linear ? [[m, lrpEpsilon(eps)]] : []));

/** Relevance of each input pixel for the true class, under the rules. */
function relevance(pairs) {
  const x = gb.normalize(images, normalization).requiresGrad_();
  const onehot = gb.eq(gb.reshape(labels, [n, 1]), gb.arange(10, { dtype: 'int32' }));
  return withRules(pairs, () => {
    const [g] = gb.grad([gb.sum(gb.mul(model.forward(x), onehot))], [x]);
    return gb.mul(g, x);
  });
}

const lrp = relevance(rulesFor(Number(arg('eps', 0.25)), Number(arg('gamma', 0.25))));
// a check anyone can run: with eps = gamma = 0 the rules give gradient x input
const lrp0 = relevance(rulesFor(0, 0));
const gradientTimesInput = relevance([]);
const largest = async (t) => gb.amax(gb.abs(t)).item();
await gb.saveImage(out, lrp.select(0, 0), { range: 'auto' });
console.log(JSON.stringify({
  lrp0VersusGradientTimesInput: (await largest(gb.sub(lrp0, gradientTimesInput))) / (await largest(gradientTimesInput)),
  lrpVersusGradientTimesInput: (await largest(gb.sub(lrp, gradientTimesInput))) / (await largest(gradientTimesInput)),
  out,
}));
