/**
 * `--plugin file.mjs`: explanation methods written outside the package, scored by `glassbox
 * evaluate` next to the built-in ones. A plugin is an ES module that exports `methods`, an array
 * of method specs ({name, catalogue, description, output, signed, create(model, ctx)}, as the
 * built-in methods register theirs in src/xai/registry.ts); see examples/custom-attribution.mjs.
 * It imports glassbox by the package's name ('glassbox/node'), which resolves to the same
 * compiled modules this command runs, so its tensors and the command's are one engine's.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { allMethods, registerMethods, type MethodSpec } from '../xai/registry.ts';
import { UsageError } from './args.ts';

/** Imports each module of a comma-separated list and registers its `methods`; returns their names. */
export async function loadPlugins(list: string): Promise<string[]> {
  const added: string[] = [];
  for (const file of list.split(',').filter(Boolean)) {
    const path = resolve(file);
    if (!existsSync(path)) throw new UsageError(`--plugin: no such file ${path}`);
    const before = allMethods().length;
    const module = (await import(pathToFileURL(path).href)) as { methods?: readonly MethodSpec[] };
    // a module may also have called gb.xai.registerMethods itself
    if (module.methods !== undefined) registerMethods(module.methods);
    const names = allMethods().slice(before).map((m) => m.name);
    if (names.length === 0)
      throw new UsageError(`--plugin ${file}: the module adds no explanation method; export \`methods\`, an array of {name, catalogue, description, output, signed, create(model, ctx)} (see examples/custom-attribution.mjs)`);
    added.push(...names);
  }
  return added;
}
