// Runs a TypeScript entry point: `node scripts/run-ts.mjs <entry.ts> [args...]`.
//
// Bundles the entry with esbuild (platform node, ES module) into dist/run/<entry>-<pid>.mjs, imports
// it and deletes it when the process exits; the script sees `process.argv.slice(2)` as the args
// given after the entry. One file per process, so scripts started together never read each
// other's half-written bundle. Native and peer packages (`webgpu`, `@tensorflow/*`) stay external
// and load from node_modules at run time. (The glassbox command runs the compiled dist/ instead.)
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [entryArg, ...args] = process.argv.slice(2);
if (!entryArg) {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(2);
}

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const entry = resolve(entryArg);
// bench/engine.ts -> dist/run/bench_engine-<pid>.mjs
const name = relative(root, entry).replace(/\.[cm]?tsx?$/, '').replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[._]+/, '');
const outfile = resolve(root, 'dist/run', `${name}-${process.pid}.mjs`);
process.on('exit', () => {
  rmSync(outfile, { force: true });
  rmSync(`${outfile}.map`, { force: true });
});

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  external: ['webgpu', '@tensorflow/*'],
  // CommonJS dependencies bundled into an ES module still call require()
  banner: { js: "import { createRequire as __runTsCreateRequire } from 'node:module'; const require = __runTsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

process.setSourceMapsEnabled(true);
process.argv = [process.argv[0], outfile, ...args];
await import(pathToFileURL(outfile).href);
