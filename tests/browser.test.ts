/**
 * glassbox in a real browser: tests/browser/page.ts is bundled with esbuild (no Node
 * modules, no 'webgpu' package), served from 127.0.0.1 and run in headless Chromium on its
 * own WebGPU (SwiftShader). The page's matmul, loss and gradients must match the same
 * workload run here in Node (Dawn on lavapipe).
 *
 * Needs /usr/bin/chromium (Debian's `chromium` package); skipped, with a message, without it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { expectClose } from './helpers.ts';
import { runWorkload, fixedValues, type PageResult, type WorkloadResult } from './browser/page.ts';
import { CHROMIUM, HAS_CHROMIUM, WEBGPU_ARGS } from './browser/lab-driver.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const PAGE_ENTRY = join(HERE, 'browser', 'page.ts');
const TOL = { atol: 1e-5, rtol: 1e-4 };

if (!HAS_CHROMIUM)
  console.warn(`[browser.test] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)`);

let server: Server | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;

afterAll(async () => {
  await context?.close().catch(() => {});
  if (server) {
    server.closeAllConnections();
    await new Promise<void>((res) => server!.close(() => res()));
  }
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
});

/** Bundles the page; fails if anything Node-only (a builtin, or the 'webgpu' package) got in. */
async function bundlePage(): Promise<string> {
  const builtins = new Set(builtinModules);
  const nodeOnly: string[] = [];
  const guard: Plugin = {
    name: 'glassbox-no-node',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        const isBuiltin = args.path.startsWith('node:') || builtins.has(bare) || builtins.has(bare.split('/')[0]!);
        const isDawn = bare === 'webgpu' || bare.startsWith('webgpu/');
        if (!isBuiltin && !isDawn) return undefined;
        nodeOnly.push(`'${args.path}' (imported by ${args.importer ? relative(ROOT, args.importer) : '?'})`);
        return { path: args.path, external: true };
      });
    },
  };
  let out;
  try {
    out = await build({
      entryPoints: [PAGE_ENTRY],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [guard],
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    const text = errors?.map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`).join('\n');
    throw new Error(`esbuild could not bundle tests/browser/page.ts for the browser:\n${text ?? String(e)}`);
  }
  const dawnInputs = Object.keys(out.metafile.inputs).filter((p) => /node_modules[\\/]webgpu[\\/]/.test(p));
  if (nodeOnly.length > 0 || dawnInputs.length > 0)
    throw new Error(
      'the browser bundle pulled in Node-only modules, so glassbox would not load in a browser: ' +
        [...nodeOnly, ...dawnInputs].join(', ') +
        '. The core must reach Node modules only through a dynamic import with a variable name (see src/kernels/gpu.ts).',
    );
  return out.outputFiles[0]!.text;
}

function maxDiff(a: readonly number[], b: readonly number[]): string {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m.toExponential(1);
}

/** The page's matmul in float64 on the CPU, from the same inputs. */
function referenceMatmul(): number[] {
  const a = fixedValues(64 * 48, 1, 1);
  const b = fixedValues(48 * 32, 2, 0.5);
  const out: number[] = [];
  for (let i = 0; i < 64; i++)
    for (let j = 0; j < 32; j++) {
      let s = 0;
      for (let k = 0; k < 48; k++) s += a[i * 48 + k]! * b[k * 32 + j]!;
      out.push(s);
    }
  return out;
}

const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>glassbox browser test</title>
<script>
  // a failed module load (e.g. device acquisition at top level) reports here instead of timing out
  const fail = (msg) => { if (!window.__result) window.__result = { ok: false, error: String(msg) }; };
  window.addEventListener('error', (e) => fail(e.error && e.error.stack ? e.error.message + '\\n' + e.error.stack : e.message));
  window.addEventListener('unhandledrejection', (e) => fail(e.reason && e.reason.stack ? e.reason.message + '\\n' + e.reason.stack : e.reason));
</script>
<script type="module" src="/page.js"></script>
</head><body>glassbox</body></html>`;

async function serve(bundle: string): Promise<string> {
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(HTML);
    } else if (path === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(bundle);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((res, rej) => {
    server!.once('error', rej);
    server!.listen(0, '127.0.0.1', () => res());
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}/`;
}

/** Runs the page in headless Chromium and returns what it posted to window.__result. */
async function runInBrowser(url: string): Promise<{ result: PageResult; log: string[] }> {
  userDataDir = await mkdtemp(join(tmpdir(), 'glassbox-chromium-'));
  // Playwright owns --user-data-dir (a fresh temp dir here) and refuses it in args.
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: WEBGPU_ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const log: string[] = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(url, { waitUntil: 'load', timeout: 20_000 });
  try {
    await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 40_000, polling: 100 });
  } catch (e) {
    throw new Error(`the page posted no result within 40 s (${(e as Error).message.split('\n')[0]}); page log:\n${log.join('\n') || '(empty)'}`);
  }
  const result = (await page.evaluate(() => window.__result)) as PageResult;
  return { result, log };
}

describe('glassbox in a real browser (Chromium, WebGPU on SwiftShader)', () => {
  it.skipIf(!HAS_CHROMIUM)(
    `matmul, loss and MLP gradients in the page match Node${HAS_CHROMIUM ? '' : ` [skipped: ${CHROMIUM} is missing]`}`,
    async () => {
      const bundle = await bundlePage();
      expect(bundle).not.toMatch(/from\s*["'](node:|webgpu["'])/);
      const url = await serve(bundle);
      const { result: page, log } = await runInBrowser(url);
      if (!page.ok) expect.fail(`the page failed: ${page.error}\npage log:\n${log.join('\n') || '(empty)'}`);

      // the page really ran on the browser's WebGPU
      expect(page.adapter, 'adapter info from navigator.gpu').toBeTruthy();
      expect(typeof page.adapter.vendor).toBe('string');
      expect(`${page.adapter.vendor}${page.adapter.architecture}${page.adapter.device}${page.adapter.description}`.length).toBeGreaterThan(0);

      const node: WorkloadResult = await runWorkload();
      expect(page.matmulShape).toEqual([64, 32]);
      expect(node.matmulShape).toEqual([64, 32]);
      expectClose(page.matmul, node.matmul, { ...TOL, what: 'matmul 64x48 @ 48x32, page vs Node' });
      expectClose(page.matmul, referenceMatmul(), { ...TOL, what: 'matmul 64x48 @ 48x32, page vs a float64 loop' });
      expect(Number.isFinite(page.loss)).toBe(true);
      expectClose([page.loss], [node.loss], { ...TOL, what: 'crossEntropy loss' });
      expectClose(page.gradW1, node.gradW1, { ...TOL, what: 'grad of W1' });
      expectClose(page.gradB1, node.gradB1, { ...TOL, what: 'grad of b1' });
      expectClose(page.gradW2, node.gradW2, { ...TOL, what: 'grad of W2' });
      expectClose(page.gradB2, node.gradB2, { ...TOL, what: 'grad of b2' });
      // a workload that tests something: logits far from uniform, gradients far from zero
      expect(Math.abs(node.loss - Math.log(10))).toBeGreaterThan(0.05);
      expect(Math.max(...node.gradW1.map(Math.abs))).toBeGreaterThan(1e-3);

      console.log(
        `[browser.test] page adapter: ${JSON.stringify(page.adapter)} (target ${page.target}), workload ${page.ms.toFixed(0)} ms; ` +
          `node adapter: ${node.adapter.vendor}/${node.adapter.architecture}; loss page ${page.loss} node ${node.loss}; ` +
          `max |page - node|: matmul ${maxDiff(page.matmul, node.matmul)}, gradW1 ${maxDiff(page.gradW1, node.gradW1)}, gradW2 ${maxDiff(page.gradW2, node.gradW2)}`,
      );
    },
    60_000,
  );
});
