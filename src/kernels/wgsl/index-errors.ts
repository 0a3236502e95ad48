/**
 * WGSL for reporting an out-of-range index to the shared index error buffer (its layout, its
 * check sites and the error raised at readback: src/autograd/index-check.ts).
 */

/** The buffer's declaration, at `binding` of group 0. */
export const indexErrorBinding = (binding: number) => `@group(0) @binding(${binding}) var<storage, read_write> index_errors: array<atomic<u32>>;`;

/** Statements that report bad index `j` (an i32 expression) under check site `site` (a u32 expression). */
export const REPORT_BAD_INDEX = (j: string, site: string) => `atomicMin(&index_errors[0], ${site}); atomicStore(&index_errors[1u + ${site}], bitcast<u32>(${j}));`;
