/**
 * glassbox as a user installs it (issue 21): `npm pack`, the tarball installed into a scratch
 * project outside this checkout, then
 *   - in Node: `import * as gb from 'glassbox'` runs training steps, and 'glassbox/node' saves the model;
 *   - in a browser bundle: esbuild bundles `glassbox` for the browser (no Node module may be reached);
 *   - the `glassbox` command answers --help;
 *   - `glassbox lab` serves the built lab (dist/lab, shipped in the package) without the repository's lab sources.
 * Offline: the tarball is unpacked into node_modules/glassbox as npm would, and its dependencies
 * are linked from this checkout's node_modules (already installed) rather than downloaded.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../datasets/paths.ts';
// @ts-expect-error: a plain .mjs script without types
import { ensureBuilt } from '../scripts/build.mjs';
import { ensureLabBuilt } from '../src/cli/lab.ts';

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

let scratch: string;
let packed: PackResult;

beforeAll(async () => {
  ensureBuilt();
  await ensureLabBuilt(); // dist/lab, as prepack's build-lab.mjs writes it (seconds; nothing when fresh)
  scratch = mkdtempSync(join(tmpdir(), 'glassbox-package-'));
  // the scripts were run by ensureBuilt; prepack's clean build would pull dist/ from under other tests
  const json = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  packed = (JSON.parse(json) as PackResult[])[0]!;

  const project = join(scratch, 'project');
  const installed = join(project, 'node_modules', 'glassbox');
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  execFileSync('tar', ['-xzf', join(scratch, packed.filename), '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bin: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies)) {
    const target = join(project, 'node_modules', dep);
    mkdirSync(join(target, '..'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', dep), target, 'dir');
  }
  mkdirSync(join(project, 'node_modules', '.bin'));
  for (const [name, path] of Object.entries(manifest.bin)) {
    chmodSync(join(installed, path), 0o755); // as npm install does for bin entries
    symlinkSync(join('..', 'glassbox', path), join(project, 'node_modules', '.bin', name));
  }
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const project = () => join(scratch, 'project');

describe('npm pack', () => {
  it('ships the compiled package only: no sources, tests, fixtures or benchmarks', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('dist/src/index.js');
    expect(paths).toContain('dist/src/index.d.ts');
    expect(paths).toContain('dist/src/node.js');
    expect(paths).toContain('dist/src/cli/main.js');
    expect(paths).toContain('bin/glassbox.mjs');
    const lab = /^dist\/lab\/(index\.html|main\.js|app\.js|models\/[\w-]+\.(safetensors|json)|data\/mnist-subset\.bin)$/;
    const unexpected = paths.filter((p) => !/^(dist\/(src|datasets)\/.*\.(js|d\.ts)|bin\/glassbox\.mjs|README\.md|package\.json|LICENSE)$/.test(p) && !lab.test(p));
    expect(unexpected).toEqual([]);
    // the built lab with both pretrained models (its sources, lab/, stay out)
    for (const f of ['index.html', 'main.js', 'app.js', 'models/lenet5-mnist.safetensors', 'models/mnist-cnn-mnist.safetensors', 'models/mnist-cnn-mnist.json']) expect(paths).toContain(`dist/lab/${f}`);
  });
});

describe('the installed package', () => {
  it('trains in Node: import from glassbox, save with glassbox/node', () => {
    writeFileSync(
      join(project(), 'train.mjs'),
      `import * as gb from 'glassbox';
import { saveModel, loadModel, datasets } from 'glassbox/node';
gb.manualSeed(0);
const model = new gb.nn.Linear(4, 3);
const opt = new gb.optim.SGD(model.parameters(), { lr: 0.5 });
const x = gb.tensor(Float32Array.from({ length: 32 }, (_, i) => Math.sin(i)), [8, 4]);
const y = gb.tensor(Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), [8], { dtype: 'int32' });
const losses = [];
for (let s = 0; s < 5; s++) {
  opt.zeroGrad();
  const loss = gb.crossEntropy(model.forward(x), y);
  loss.backward();
  opt.step();
  losses.push(await loss.item());
}
await saveModel('model.safetensors', model);
const copy = new gb.nn.Linear(4, 3);
await loadModel('model.safetensors', copy);
console.log(JSON.stringify({ losses, loaded: Array.from(await copy.weight.toArray()), weight: Array.from(await model.weight.toArray()), loaders: typeof datasets.loadMnist }));
`,
    );
    // stderr to a file, as `node train.mjs 2>log` would (a Node-made pipe is a socket, which
    // native-stderr.ts cannot redirect)
    const log = join(scratch, 'stderr.log');
    const stderr = openSync(log, 'w');
    const r = spawnSync(process.execPath, ['train.mjs'], { cwd: project(), encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', stderr] });
    closeSync(stderr);
    const errors = readFileSync(log, 'utf8');
    expect(r.status, errors).toBe(0);
    const out = JSON.parse(r.stdout) as { losses: number[]; loaded: number[]; weight: number[]; loaders: string };
    expect(out.losses).toHaveLength(5);
    expect(out.losses.every(Number.isFinite)).toBe(true);
    expect(out.losses[4]!).toBeLessThan(out.losses[0]!); // it learns
    expect(out.loaded).toEqual(out.weight); // the saved weights load back
    expect(out.loaders).toBe('function');
    expect(errors).toBe(''); // Dawn's adapter warnings stay hidden
  });

  it('bundles for the browser with esbuild, reaching no Node module', async () => {
    const result = await build({
      stdin: { contents: "import * as gb from 'glassbox';\nexport const ops = Object.keys(gb).length;", resolveDir: project(), loader: 'js' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    expect(code).toContain('navigator'); // the browser's WebGPU
    expect(code).not.toMatch(/from ["']node:|require\(["']node:/);
  });

  it('the glassbox command answers --help', () => {
    const bin = join(project(), 'node_modules', '.bin', 'glassbox');
    expect(existsSync(bin)).toBe(true);
    for (const args of [['--help'], ['train', '--help']]) {
      const r = spawnSync(bin, args, { cwd: project(), encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('Usage: glassbox');
      expect(r.stderr).toBe('');
    }
  });

  it('glassbox lab serves the lab shipped in the package', async () => {
    const bin = join(project(), 'node_modules', '.bin', 'glassbox');
    const server = spawn(bin, ['lab'], { cwd: project(), stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((res, rej) => {
        let out = '';
        let err = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/http:\/\/\S+\//.test(out)) res(out);
        });
        server.stderr.on('data', (d: Buffer) => (err += d.toString()));
        server.on('exit', (code) => rej(new Error(`glassbox lab exited with ${code}: ${err}`)));
        setTimeout(() => rej(new Error(`glassbox lab printed no URL in 30 s: ${out} ${err}`)), 30_000);
      });
      expect(line).toContain(join(project(), 'node_modules', 'glassbox', 'dist', 'lab'));
      const url = line.match(/http:\/\/\S+\//)![0];
      expect(await (await fetch(url)).text()).toContain('glassbox lab');
      for (const f of ['app.js', 'models/mnist-cnn-mnist.safetensors']) {
        const res = await fetch(url + f);
        expect(res.status, f).toBe(200);
        expect(Number(res.headers.get('content-length')), f).toBe(readFileSync(join(project(), 'node_modules', 'glassbox', 'dist', 'lab', f)).length);
      }
    } finally {
      server.kill();
    }
  });
});
