#!/usr/bin/env node
// The `glassbox` command: runs the compiled CLI, dist/src/cli/main.js. In a checkout (where the
// TypeScript sources sit beside this file) it first compiles them if dist/ is missing or older
// than a source (scripts/build.mjs, the same as `npm run build`); an installed package ships
// dist/ only and runs it as it is.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url)) && existsSync(new URL('../scripts/build.mjs', import.meta.url))) {
  const { ensureBuilt } = await import('../scripts/build.mjs');
  try {
    ensureBuilt();
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
await import('../dist/src/cli/main.js');
