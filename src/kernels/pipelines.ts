/**
 * Compiled compute pipelines, cached by WGSL source and entry point.
 *
 * The bind-group layout of each kernel is derived from its WGSL with
 * `wgsl_reflect` (storage read / read_write / uniform per binding), so a
 * kernel declares its interface once, in WGSL, and every dispatch is checked
 * against that declaration.
 *
 * Small tensors share slabs (slab-pool.ts), which gives each kernel up to three more variants,
 * compiled only when a dispatch needs them:
 * - ALIAS_SAFE: WebGPU forbids binding one buffer both read-only and writable in a dispatch, even
 *   at disjoint ranges, so an op whose output block lies in the slab of an input gets the same
 *   WGSL with every read-only storage binding declared read_write (several writable bindings of
 *   one buffer are allowed). Large tensors have buffers of their own and keep read-only bindings.
 * - DYNAMIC_OFFSETS: storage bindings take dynamic offsets, so one bind group serves every block
 *   of a slab (command-queue.ts says when and why).
 */
// the package's "main" is a CommonJS file inside a "type": "module" package, which Node rejects; its ES build works everywhere
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { gpuBufferOf, type Binding } from './command-queue.ts';

export interface BindingInfo {
  binding: number;
  name: string;
  kind: 'read' | 'read_write' | 'uniform';
  /** For uniforms: the struct's byte size. */
  size: number;
}

export interface Kernel {
  name: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Storage bindings in binding order, then at most one uniform binding. */
  storage: BindingInfo[];
  /** Whether the storage bindings take dynamic offsets (the DYNAMIC_OFFSETS variant, where the device allows that many). */
  dynamicStorage: boolean;
  uniform?: BindingInfo;
}

function reflectBindings(name: string, source: string): BindingInfo[] {
  let reflect: WgslReflect;
  try {
    reflect = new WgslReflect(source);
  } catch (e) {
    throw new Error(`glassbox: kernel '${name}' has WGSL that does not parse: ${(e as Error).message}\n${source}`);
  }
  const bindings: BindingInfo[] = [];
  for (const [group, vars] of reflect.getBindGroups().entries()) {
    for (const v of vars ?? []) {
      if (!v) continue;
      if (group !== 0) throw new Error(`glassbox: kernel '${name}' uses bind group ${group}; kernels use group 0 only`);
      const kind = v.resourceType === 0 ? 'uniform' : v.access === 'read_write' ? 'read_write' : 'read';
      bindings.push({ binding: v.binding, name: v.name, kind, size: v.size });
    }
  }
  bindings.sort((a, b) => a.binding - b.binding);
  return bindings;
}

const READ_ONLY_STORAGE = /var<storage\s*,\s*read\s*>/g;

/** Whether a dispatch binds one buffer both writable and read-only (then it needs the alias-safe variant). */
export function bindsWritableAlias(kernel: Kernel, bindings: readonly Binding[]): boolean {
  if (bindings.length !== kernel.storage.length) return false; // the queue reports the mismatch
  for (let i = 0; i < bindings.length; i++) {
    if (kernel.storage[i]!.kind !== 'read_write') continue;
    const buffer = gpuBufferOf(bindings[i]!);
    for (let j = 0; j < bindings.length; j++) if (kernel.storage[j]!.kind === 'read' && gpuBufferOf(bindings[j]!) === buffer) return true;
  }
  return false;
}

/** Kernel variants (bit flags): see the file comment. */
export const ALIAS_SAFE = 1;
export const DYNAMIC_OFFSETS = 2;

export class PipelineCache {
  // Keyed by the source string itself (generators return the same string object for the same
  // kernel, so V8 hashes it once), then by entry point, then by variant flags.
  private readonly kernels = new Map<string, Map<string, Kernel[]>>();
  compiled = 0;

  constructor(private readonly device: GPUDevice) {}

  get(name: string, source: string, entryPoint = 'main', variant = 0): Kernel {
    let byEntry = this.kernels.get(source);
    if (!byEntry) this.kernels.set(source, (byEntry = new Map()));
    let variants = byEntry.get(entryPoint);
    if (!variants) byEntry.set(entryPoint, (variants = []));
    const hit = variants[variant];
    if (hit) return hit;
    const code = variant & ALIAS_SAFE ? source.replace(READ_ONLY_STORAGE, 'var<storage, read_write>') : source;
    const kernel = this.compile(name, code, entryPoint, (variant & DYNAMIC_OFFSETS) !== 0);
    variants[variant] = kernel;
    this.compiled++;
    return kernel;
  }

  private compile(name: string, source: string, entryPoint: string, dynamicOffsets: boolean): Kernel {
    const bindings = reflectBindings(name, source);
    const uniforms = bindings.filter((b) => b.kind === 'uniform');
    if (uniforms.length > 1) throw new Error(`glassbox: kernel '${name}' declares ${uniforms.length} uniforms; use one struct`);
    const dynamicStorage = dynamicOffsets && bindings.length - uniforms.length <= this.device.limits.maxDynamicStorageBuffersPerPipelineLayout;
    const layout = this.device.createBindGroupLayout({
      label: name,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: {
          type: b.kind === 'uniform' ? 'uniform' : b.kind === 'read' ? 'read-only-storage' : 'storage',
          hasDynamicOffset: dynamicStorage && b.kind !== 'uniform',
        },
      })),
    });
    const module = this.device.createShaderModule({ code: source, label: name });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint },
    });
    return {
      name,
      pipeline,
      layout,
      storage: bindings.filter((b) => b.kind !== 'uniform'),
      dynamicStorage,
      uniform: uniforms[0],
    };
  }
}
