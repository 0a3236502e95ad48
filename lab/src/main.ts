/**
 * The lab's entry: checks that the browser has WebGPU before loading glassbox (which acquires the
 * device as it loads), so a browser without it gets a page that says so, never a blank one.
 * (It does not request an adapter of its own: glassbox's is the one the page uses, and when
 * glassbox finds none, its error is shown the same way.)
 */
import { showNoWebGpu } from './no-webgpu.ts';

async function start(): Promise<void> {
  if (!(navigator as Navigator & { gpu?: GPU }).gpu) return showNoWebGpu('this browser has no navigator.gpu (WebGPU is off or not supported).');
  // a variable, so esbuild leaves the import to the browser: app.js is its own bundle
  const app = './app.js';
  try {
    await import(/* @vite-ignore */ app);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/adapter|WebGPU|device/i.test(message)) return showNoWebGpu(message);
    throw e;
  }
}

start().catch((e: unknown) => {
  const status = document.getElementById('status');
  if (status) status.textContent = `the lab failed to start: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
