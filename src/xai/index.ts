/** Explanation methods (src/xai): every method has the shape new Method(model, opts).attribute(input, {target}). */
export * from './attribution.ts';
export * from './registry.ts';
