/** glassbox/viz for Node: everything in './index.ts' plus writing and reading files. */
export * from './index.ts';
export * from './files.ts';
