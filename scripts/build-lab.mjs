// Builds the lab (lab/: the page where a student draws a digit and watches backprop explain it) into
// a static folder any static host can serve: `npm run build:lab` (`node scripts/build-lab.mjs [out]`,
// default dist/lab). `glassbox lab` calls buildLab() when the folder is missing or older than a source.
//
// The folder: index.html; main.js (checks for WebGPU, then loads app.js) and app.js (the page and
// glassbox, bundled with esbuild); models/: the pretrained nets with their test accuracy in a JSON
// beside each (lenet5-mnist: the trained fixture LeNet-5; mnist-cnn-mnist: the MNIST CNN, lab/models/);
// data/mnist-subset.bin (1,000 training + 200 test MNIST images, written from the local MNIST copy
// by lab/make-subset.ts through the project's loader: GLASSBOX_DATA, ../shared/datasets or a download).
// Without MNIST data the build still succeeds, without the subset: the page then says that its test
// images and training are off, and the pretrained models work as ever.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const DEFAULT_LAB_DIR = join(ROOT, 'dist', 'lab');
const SOURCES = ['lab', 'src'];
/** The pretrained models' files (lab/src/model-source.ts's PRETRAINED names them in the page). */
const PRETRAINED = [
  { from: 'tests/fixtures/models/lenet-mnist.safetensors', to: 'models/lenet5-mnist.safetensors' },
  { from: 'tests/fixtures/models/lenet-mnist.json', to: 'models/lenet5-mnist.json' },
  { from: 'lab/models/mnist-cnn-mnist.safetensors', to: 'models/mnist-cnn-mnist.safetensors' },
  { from: 'lab/models/mnist-cnn-mnist.json', to: 'models/mnist-cnn-mnist.json' },
];

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** True when `out` holds a build at least as new as every source of the page. */
export function isLabFresh(out = DEFAULT_LAB_DIR) {
  const stamp = join(out, '.build-stamp');
  if (!existsSync(stamp)) return false;
  return Math.max(...SOURCES.map((d) => newest(join(ROOT, d)))) <= statSync(stamp).mtimeMs;
}

/**
 * How Node-only modules get into the page: for each module that imports a Node builtin, the
 * import path from lab/src/app.ts to it (a second bundling pass with the builtins left external).
 */
async function nodeOnlyChains() {
  const r = await build({ entryPoints: [join(ROOT, 'lab/src/app.ts')], bundle: true, write: false, format: 'esm', platform: 'browser', metafile: true, logLevel: 'silent', external: ['node:*'] });
  const inputs = r.metafile.inputs;
  const parent = new Map();
  const queue = ['lab/src/app.ts'];
  for (const file of queue)
    for (const imp of inputs[file]?.imports ?? [])
      if (inputs[imp.path] && !parent.has(imp.path) && imp.path !== 'lab/src/app.ts') {
        parent.set(imp.path, file);
        queue.push(imp.path);
      }
  const offenders = Object.keys(inputs).filter((f) => inputs[f].imports.some((i) => i.path.startsWith('node:')));
  const chainTo = (f) => {
    const chain = [f];
    while (parent.has(chain[0])) chain.unshift(parent.get(chain[0]));
    return chain.join(' -> ');
  };
  return [...new Set(offenders.map(chainTo))].slice(0, 5);
}

/** Writes the static lab into `out` (bundles always; the data subset only when missing). Returns `out`. */
export async function buildLab(out = DEFAULT_LAB_DIR, { log = (m) => console.error(m) } = {}) {
  const started = Date.now();
  for (const sub of ['', 'models', 'data']) mkdirSync(join(out, sub), { recursive: true });
  try {
    await build({
      entryPoints: { main: join(ROOT, 'lab/src/main.ts'), app: join(ROOT, 'lab/src/app.ts') },
      outdir: out,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      // the backprop view names each layer by its class (Conv2d, ReLU, ...): keep class names through minification
      keepNames: true,
      sourcemap: 'linked',
      logLevel: 'silent',
    });
  } catch (e) {
    const text = e.errors?.map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`).join('\n');
    const chains = await nodeOnlyChains().catch(() => []);
    throw new Error(
      `lab: esbuild could not bundle the page for the browser:\n${text ?? String(e)}` +
        (chains.length ? `\nNode-only modules reach the browser bundle through:\n  ${chains.join('\n  ')}\nglassbox's core (src/index.ts) must stay browser-safe: move what the browser needs out of those modules.` : ''),
    );
  }
  copyFileSync(join(ROOT, 'lab/index.html'), join(out, 'index.html'));
  for (const { from, to } of PRETRAINED) copyFileSync(join(ROOT, from), join(out, to));
  const subset = join(out, 'data', 'mnist-subset.bin');
  if (!existsSync(subset)) {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/run-ts.mjs'), join(ROOT, 'lab/make-subset.ts'), subset], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0)
      log(
        `lab: no MNIST subset (lab/make-subset.ts exited with ${r.status}): the page works with its pretrained models, but its MNIST test images and training in the page are off. ` +
          'Point GLASSBOX_DATA at a folder holding mnist/ (see README.md, "Data sets") and run npm run build:lab again.',
      );
  }
  writeFileSync(join(out, '.build-stamp'), new Date().toISOString());
  log(`lab: built ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildLab(process.argv[2] ? resolve(process.argv[2]) : DEFAULT_LAB_DIR).catch((e) => {
    console.error(e.message);
    process.exit(1);
  });
}
