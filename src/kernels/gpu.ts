/**
 * Finding a WebGPU device, in Node (npm `webgpu`, Dawn) or in a browser (`navigator.gpu`).
 *
 * The core never imports a Node-only module statically: in Node the `webgpu`
 * package is loaded through a dynamic import whose name is a variable, so a
 * browser bundle (esbuild) leaves it out.
 */

import { withoutDawnWarnings } from './native-stderr.ts';

export type KernelTarget = 'cpu-simd' | 'gpu';

export interface GpuContext {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string; fallback: boolean };
  /** Which kernel variants to prefer: lavapipe / SwiftShader run WGSL on CPU SIMD lanes and want different tilings. */
  target: KernelTarget;
  /** The subgroup size when the device has the 'subgroups' feature and the adapter's size is fixed (lavapipe: 8); kernels may then use subgroup operations. */
  subgroupSize: number | undefined;
}

export const SETUP_HINT =
  'On Linux without a GPU, install Mesa\'s software Vulkan driver (lavapipe) with `sudo bash scripts/setup.sh`; ' +
  'in a browser, use one with WebGPU enabled (Chrome 113+, or chromium --enable-unsafe-webgpu).';

// Dawn in Node crashes when the object returned by create() is garbage-collected under a live
// device (see shared/ENVIRONMENT.md), so it is kept here for the life of the process.
let nodeGpuRoot: GPU | undefined;
/** node:fs in Node (loaded by findGpu), to keep Dawn's native adapter warnings off stderr. */
let nodeFs: typeof import('node:fs') | undefined;
let context: GpuContext | undefined;
let pending: Promise<GpuContext> | undefined;
const deviceErrors: string[] = [];
/** Why the last device was lost, while no new one has been acquired. */
let lost: string | undefined;

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  if (!isNode) throw new Error(`glassbox: this browser has no WebGPU (navigator.gpu is missing). ${SETUP_HINT}`);
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp'; // silences a harmless Vulkan loader warning
  const fsName = 'node:fs';
  nodeFs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
  const moduleName = 'webgpu';
  const dawn = (await import(/* @vite-ignore */ moduleName)) as { create(o: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  nodeGpuRoot = dawn.create([]);
  return nodeGpuRoot;
}

function describeTarget(info: GPUAdapterInfo): KernelTarget {
  const text = `${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /llvmpipe|lavapipe|swiftshader|software/.test(text) ? 'cpu-simd' : 'gpu';
}

async function acquire(): Promise<GpuContext> {
  const gpu = await findGpu();
  const request = () => gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapter = await (nodeFs ? withoutDawnWarnings(nodeFs, request) : request());
  if (!adapter) throw new Error(`glassbox: no WebGPU adapter found (requestAdapter() returned null). ${SETUP_HINT}`);
  const l = adapter.limits;
  const info = adapter.info;
  const sizes = info as { subgroupMinSize?: number; subgroupMaxSize?: number };
  const subgroupSize = adapter.features.has('subgroups') && sizes.subgroupMinSize && sizes.subgroupMinSize === sizes.subgroupMaxSize ? sizes.subgroupMinSize : undefined;
  const device = await adapter.requestDevice({
    requiredFeatures: subgroupSize ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      // tensors bind at dynamic offsets into shared slabs (command-queue.ts)
      maxDynamicStorageBuffersPerPipelineLayout: l.maxDynamicStorageBuffersPerPipelineLayout,
    },
  });
  device.addEventListener('uncapturederror', (e) => {
    deviceErrors.push((e as GPUUncapturedErrorEvent).error.message);
  });
  void device.lost.then((info) => {
    if (context?.device !== device) return;
    // the next initGpu() acquires a new device; until then gpu() says what happened
    lost = `the WebGPU device was lost (reason: ${info.reason}${info.message ? `, "${info.message}"` : ''})`;
    context = undefined;
    pending = undefined;
    if (info.reason !== 'destroyed') deviceErrors.push(lost);
  });
  return {
    device,
    adapterInfo: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      fallback: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true,
    },
    target: describeTarget(info),
    subgroupSize,
  };
}

/** Acquires the device once (and again after it was lost); later calls return the same one. */
export function initGpu(): Promise<GpuContext> {
  pending ??= acquire().then((c) => {
    lost = undefined;
    return (context = c);
  });
  return pending;
}

/** The device, synchronously; throws if `initGpu()` has not finished. */
export function gpu(): GpuContext {
  if (!context && lost)
    throw new Error(
      `glassbox: ${lost}. Its tensors are gone: \`await init()\` starts a new device, then create the tensors again (e.g. load the model's weights).`,
    );
  if (!context) throw new Error('glassbox: WebGPU is not initialised yet: `await init()` first (importing glassbox does it for you).');
  return context;
}

/** Queues an error the device reported asynchronously, for the next throwDeviceErrors(). */
export function reportDeviceError(message: string): void {
  deviceErrors.push(message);
}

/** Throws the validation errors the device reported since the last check (they arrive asynchronously). */
export function throwDeviceErrors(where: string): void {
  if (deviceErrors.length === 0) return;
  const all = deviceErrors.splice(0).join('\n');
  throw new Error(`glassbox: WebGPU reported an error (noticed at ${where}):\n${all}`);
}

/** For tests and benchmarks that need the raw `GPU` object (e.g. to hand TensorFlow.js the same Dawn instance). */
export function nodeGpuObject(): GPU | undefined {
  return nodeGpuRoot ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}
