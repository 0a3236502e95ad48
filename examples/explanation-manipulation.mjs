// Explanation manipulation with second-order gradients (Dombrowski et al. 2019): nudge an input,
// within a small budget, so that its gradient map moves toward the map of another image while the
// prediction stays. The map is a gradient, so moving it needs the gradient of a gradient:
// gb.grad(..., {createGraph: true}). A ReLU net's second derivative is zero, so, as in the paper,
// the attack runs on a copy whose ReLUs are softplus with a large beta (nearly the same function).
//   node examples/explanation-manipulation.mjs [--model file.safetensors] [--eps 0.1] [--steps 100] [--beta 10]
import * as gb from 'glassbox/node';

const arg = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const modelPath = arg('model', new URL('../tests/fixtures/models/lenet-mnist.safetensors', import.meta.url).pathname);
const [eps, steps, beta] = [Number(arg('eps', 0.1)), Number(arg('steps', 100)), Number(arg('beta', 10))];

const { model, normalization } = await gb.loadModel(modelPath);
const reluModel = (await gb.loadModel(modelPath)).model; // the original, to see whether the manipulation carries over
// softplus(beta) in place of every ReLU of every Sequential (the modules are plain objects to edit)
for (const [, m] of model.namedModules())
  if (m instanceof gb.nn.Sequential) m.layers.forEach((layer, i) => layer instanceof gb.nn.ReLU && (m.layers[i] = new gb.nn.Softplus(beta)));

const { images, labels } = await gb.datasets.mnist({ split: 'test', limit: 2 });
const [x, other] = [images.slice(0, { start: 0, end: 1 }), images.slice(0, { start: 1, end: 2 })];
const probabilities = (pixels, net = model) => gb.softmax(net.forward(gb.normalize(pixels, normalization)), 1);
const label = (await labels.toArrayAndDispose())[0];

/** The explanation: |d logit / d pixels|, summed to 1; with createGraph it stays differentiable in the pixels. */
function gradientMap(pixels, createGraph, net = model) {
  const logit = net.forward(gb.normalize(pixels, normalization)).select(1, label).sum();
  const [g] = gb.grad([logit], [pixels], { createGraph });
  const a = gb.abs(g);
  return gb.div(a, gb.add(a.sum(), 1e-12));
}
const mapOf = (pixels, net) => gb.tidy(() => gb.keep(gradientMap(pixels.detach().requiresGrad_(), false, net)));
const targetMap = mapOf(other);
const originalProbabilities = gb.keep(gb.noGrad(() => probabilities(x)));
const distance = (pixels, net) => gb.tidyAsync(async () => gb.square(gb.sub(mapOf(pixels, net), mapOf(other, net))).sum().item());

// projected signed-gradient descent on ||h(x') - h_target||^2 + gamma ||p(x') - p(x)||^2
const adversarial = gb.keep(x.clone());
const [low, high] = [gb.clamp(gb.sub(x, eps), { min: 0 }), gb.clamp(gb.add(x, eps), { max: 1 })];
const gamma = 100;
for (let step = 0; step < steps; step++) {
  await gb.tidyAsync(async () => {
    const xa = adversarial.detach().requiresGrad_();
    const mapLoss = gb.square(gb.sub(gradientMap(xa, true), targetMap)).sum();
    const keepPrediction = gb.mul(gb.square(gb.sub(probabilities(xa), originalProbabilities)).sum(), gamma);
    const [g] = gb.grad([gb.add(mapLoss, keepPrediction)], [xa]);
    const moved = gb.sub(adversarial, gb.mul(gb.sign(g), (2.5 * eps) / steps));
    adversarial.assign(gb.clamp(moved, { min: low, max: high }));
    if (step % 25 === 0) console.error(`step ${step}: map loss ${(await mapLoss.item()).toExponential(3)}`);
  });
}

const predicted = async (pixels, net) => gb.readItem(gb.noGrad(() => gb.argmax(probabilities(pixels, net), { dim: 1 })));
const result = {
  label,
  predictedBefore: await predicted(x),
  predictedAfter: await predicted(adversarial),
  distanceToTargetBefore: await distance(x),
  distanceToTargetAfter: await distance(adversarial),
  // the same input on the ReLU net: the manipulation found on the smooth copy carries over in part
  reluPredictedAfter: await predicted(adversarial, reluModel),
  reluDistanceBefore: await distance(x, reluModel),
  reluDistanceAfter: await distance(adversarial, reluModel),
  maxChange: await gb.readItem(gb.amax(gb.abs(gb.sub(adversarial, x)))),
  probabilityChange: await gb.readItem(gb.amax(gb.abs(gb.sub(gb.noGrad(() => probabilities(adversarial)), originalProbabilities)))),
};
console.log(JSON.stringify(result));
