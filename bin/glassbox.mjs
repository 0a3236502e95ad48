#!/usr/bin/env node
// The `glassbox` command: bundles src/cli/main.ts with esbuild on the fly and runs it.
import { fileURLToPath } from 'node:url';

process.argv.splice(2, 0, fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
await import('../scripts/run-ts.mjs');
