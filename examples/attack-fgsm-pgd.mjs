// FGSM and PGD by hand against a trained LeNet-5 on MNIST (Goodfellow et al. 2015; Madry et al. 2018).
// The attacks work on pixels in [0, 1]; the model's input normalisation sits in front of it.
//   node examples/attack-fgsm-pgd.mjs [--model file.safetensors] [--n 64] [--eps 0.1] [--steps 20]
import * as gb from 'glassbox/node';

const arg = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const modelPath = arg('model', new URL('../tests/fixtures/models/lenet-mnist.safetensors', import.meta.url).pathname);
const n = Number(arg('n', 64));
const eps = Number(arg('eps', 0.1));
const steps = Number(arg('steps', 20));

const { model, normalization } = await gb.loadModel(modelPath);
const { images, labels } = await gb.datasets.mnist({ split: 'test', limit: n });
const logitsOf = (pixels) => model.forward(gb.normalize(pixels, normalization));

/** The gradient of the loss with respect to the pixels. */
function lossGradient(pixels) {
  const x = pixels.detach().requiresGrad_();
  const loss = gb.crossEntropy(logitsOf(x), labels);
  return gb.grad([loss], [x])[0];
}

async function accuracy(pixels) {
  return gb.tidyAsync(async () => {
    const correct = gb.eq(gb.argmax(logitsOf(pixels), { dim: 1 }), labels).sum();
    return (await correct.item()) / n;
  });
}

// FGSM: one step of size eps along the sign of the gradient, back into the valid range
const fgsm = gb.tidy(() => gb.clamp(gb.add(images, gb.mul(gb.sign(lossGradient(images)), eps)), { min: 0, max: 1 }));

// PGD: a random start in the eps-ball, then steps of alpha, each projected back onto the ball
// (tensor bounds for clamp) and the valid range; tidyAsync frees each step's tensors across the await
const low = gb.clamp(gb.sub(images, eps), { min: 0 });
const high = gb.clamp(gb.add(images, eps), { max: 1 });
const alpha = (2.5 * eps) / steps;
const pgd = gb.keep(gb.clamp(gb.add(images, gb.mul(gb.sub(gb.rand(images.shape), 0.5), 2 * eps)), { min: low, max: high }));
for (let step = 0; step < steps; step++) {
  await gb.tidyAsync(async () => {
    const moved = gb.add(pgd, gb.mul(gb.sign(lossGradient(pgd)), alpha));
    pgd.assign(gb.clamp(moved, { min: low, max: high })); // in place: pgd stays the same tensor
    if (step % 10 === 0) console.error(`PGD step ${step}: accuracy ${(await accuracy(pgd)).toFixed(3)}`);
  });
}

const maxChange = async (adv) => gb.tidyAsync(async () => gb.amax(gb.abs(gb.sub(adv, images))).item());
const result = {
  clean: await accuracy(images),
  fgsm: await accuracy(fgsm),
  pgd: await accuracy(pgd),
  maxChange: Math.max(await maxChange(fgsm), await maxChange(pgd)),
};
console.log(JSON.stringify(result));
