/**
 * Waiting for the GPU in Node without spinning a CPU core.
 *
 * dawn.node (the `webgpu` package) settles mapAsync and onSubmittedWorkDone promises from
 * `instance.ProcessEvents()`. While any such promise is pending, it re-schedules that call through
 * the global `setImmediate` (AsyncRunner::ScheduleProcessEvents looks the function up on every
 * call). A main thread that awaits the GPU therefore runs one core at 100%.
 *
 * On a CPU adapter (lavapipe) that core is taken from the adapter's own worker threads. A/B runs
 * on the 2-core reference machine, with the spinning and with Dawn polling every millisecond:
 * - LeNet-5 training steps of batch 64: 70-74 ms and 45-55 ms;
 * - the 1024 matmul: 10.4-10.5 and 12.5-13.9 GFLOP/s;
 * - add 16M: 4.8-5.6 and 8.0-8.5 GB/s.
 *
 * So while a glassbox wait is pending on such an adapter, `setImmediate` calls whose callback
 * looks like Dawn's are turned into 1 ms timers. Dawn's callback is a native function with no
 * name and no parameters. A JavaScript callback is never native, and a promise's resolve function
 * (as in `new Promise(setImmediate)`) takes one parameter. Every other setImmediate call goes
 * through unchanged, and the original function is back as soon as no glassbox wait is pending.
 * A browser has no `setImmediate` and no Dawn binding, so there this does nothing.
 */

const POLL_MS = 1;

let pendingWaits = 0;
let originalSetImmediate: typeof setImmediate | undefined;

const looksLikeDawnPolling = (fn: unknown) =>
  typeof fn === 'function' && fn.name === '' && fn.length === 0 && /\[native code\]\s*\}$/.test(Function.prototype.toString.call(fn));

function throttled(original: typeof setImmediate): typeof setImmediate {
  const wrapper = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    looksLikeDawnPolling(callback) ? setTimeout(callback, POLL_MS, ...args) : original(callback, ...args);
  return wrapper as unknown as typeof setImmediate;
}

/**
 * Awaits the promise that `start` makes (a mapAsync or onSubmittedWorkDone). With `politely`,
 * Dawn polls for its result every millisecond instead of continuously while it is pending.
 */
export async function waitForGpu<T>(start: () => Promise<T>, politely: boolean): Promise<T> {
  if (!politely || typeof globalThis.setImmediate !== 'function') return start();
  if (pendingWaits++ === 0) {
    originalSetImmediate = globalThis.setImmediate;
    globalThis.setImmediate = throttled(originalSetImmediate);
  }
  try {
    return await start();
  } finally {
    if (--pendingWaits === 0) globalThis.setImmediate = originalSetImmediate!;
  }
}
