/**
 * Compiled compute pipelines, cached by WGSL source and entry point.
 *
 * The bind-group layout of each kernel is derived from its WGSL with
 * `wgsl_reflect` (storage read / read_write / uniform per binding), so a
 * kernel declares its interface once, in WGSL, and every dispatch is checked
 * against that declaration.
 */
// the package's "main" is a CommonJS file inside a "type": "module" package, which Node rejects; its ES build works everywhere
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';

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

export class PipelineCache {
  // Keyed by the source string itself (generators return the same string object for the same
  // kernel, so V8 hashes it once), then by entry point.
  private readonly kernels = new Map<string, Map<string, Kernel>>();
  compiled = 0;

  constructor(private readonly device: GPUDevice) {}

  get(name: string, source: string, entryPoint = 'main'): Kernel {
    let byEntry = this.kernels.get(source);
    if (!byEntry) this.kernels.set(source, (byEntry = new Map()));
    const hit = byEntry.get(entryPoint);
    if (hit) return hit;
    const bindings = reflectBindings(name, source);
    const uniforms = bindings.filter((b) => b.kind === 'uniform');
    if (uniforms.length > 1) throw new Error(`glassbox: kernel '${name}' declares ${uniforms.length} uniforms; use one struct`);
    const layout = this.device.createBindGroupLayout({
      label: name,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.kind === 'uniform' ? 'uniform' : b.kind === 'read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const module = this.device.createShaderModule({ code: source, label: name });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint },
    });
    const kernel: Kernel = {
      name,
      pipeline,
      layout,
      storage: bindings.filter((b) => b.kind !== 'uniform'),
      uniform: uniforms[0],
    };
    byEntry.set(entryPoint, kernel);
    this.compiled++;
    return kernel;
  }
}
