// Feature visualisation by gradient ascent: the input that most excites one class logit of a trained
// LeNet-5, from a grey image, with random jitter (roll) so the picture does not exploit pixel-exact
// patterns, and an L2 penalty keeping it small (Erhan et al. 2009; Olah et al. 2017).
//   node examples/feature-visualisation.mjs [--model file.safetensors] [--class 3] [--steps 100] [--out class3.png]
import * as gb from 'glassbox/node';

const arg = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const modelPath = arg('model', new URL('../tests/fixtures/models/lenet-mnist.safetensors', import.meta.url).pathname);
const target = Number(arg('class', 3));
const steps = Number(arg('steps', 100));
const out = arg('out', `class${target}.png`);

const { model, normalization } = await gb.loadModel(modelPath);
const logitsOf = (pixels) => model.forward(gb.normalize(pixels, normalization));
const probabilityOf = (pixels) => gb.tidyAsync(async () => gb.softmax(logitsOf(pixels), 1).select(1, target).item());

const image = gb.keep(gb.full([1, 1, 28, 28], 0.5));
const before = await probabilityOf(image);
for (let step = 0; step < steps; step++) {
  await gb.tidyAsync(async () => {
    const x = image.detach().requiresGrad_();
    const [dy, dx] = [((step * 3) % 5) - 2, ((step * 7) % 5) - 2]; // a fixed jitter within +-2 pixels
    const jittered = gb.roll(x, [dy, dx], [2, 3]);
    const objective = gb.sub(logitsOf(jittered).select(1, target).sum(), gb.mul(gb.square(gb.sub(x, 0.5)).sum(), 0.05));
    const [g] = gb.grad([objective], [x]);
    // a normalised step, then back into the valid pixel range
    const stepped = gb.add(image, gb.mul(gb.div(g, gb.add(gb.abs(g).mean(), 1e-8)), 0.02));
    image.assign(gb.clamp(stepped, { min: 0, max: 1 }));
    if (step % 25 === 0) console.error(`step ${step}: objective ${(await objective.item()).toFixed(3)}`);
  });
}
const after = await probabilityOf(image);
await gb.saveImage(out, image);
console.log(JSON.stringify({ target, before, after, out }));
