// Prints the WebGPU adapter Dawn finds (exit 0), or why there is none (exit 1).
process.env.XDG_RUNTIME_DIR ??= '/tmp';
let dawn;
try {
  dawn = await import('webgpu');
} catch (e) {
  console.error(`glassbox setup: the 'webgpu' npm package does not load (${e.message}); run npm ci`);
  process.exit(1);
}
Object.assign(globalThis, dawn.globals);
const gpu = dawn.create([]);
// without Dawn's two adapter-limit warnings, as glassbox itself (once dist/ is built: scripts/setup.sh builds it first)
const quiet = await import('../dist/src/kernels/native-stderr.js').then((m) => m.withoutDawnWarnings, () => undefined);
const fs = await import('node:fs');
const adapter = await (quiet ? quiet(fs, () => gpu.requestAdapter()) : gpu.requestAdapter());
if (!adapter) {
  console.error('glassbox setup: requestAdapter() returned null: no Vulkan driver Dawn accepts (on Debian 12, Mesa must come from bookworm-backports)');
  process.exit(1);
}
const i = adapter.info;
console.log(`WebGPU adapter: ${i.description || i.device} (${i.vendor}, ${i.architecture})`);
globalThis.keepGpu = gpu; // Dawn must not be collected while the adapter lives
