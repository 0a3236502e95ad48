/**
 * The Tensor: a strided view (shape, strides, offset) of reference-counted GPU memory (Storage),
 * plus the autograd fields. Ops live in src/tensor/ops; their method forms are attached
 * in methods.ts so this file stays about storage and lifetime.
 *
 * Memory: a buffer returns to the pool when the last tensor viewing it is disposed,
 * explicitly (`dispose()`), by a `tidy()` scope, or (as a safety net) when the
 * JavaScript object is garbage-collected.
 */
import { readback, runtime, upload, type Runtime } from '../kernels/runtime.ts';
import type { BufferSlice } from '../kernels/slab-pool.ts';
import type { Node } from '../autograd/node.ts';
import { throwIfAnomaly } from '../autograd/anomaly.ts';
import { contiguousStrides, numel, shapeStr, type Shape } from './shape.ts';

export type DType = 'float32' | 'int32' | 'uint32';
export type NumericArray = Float32Array | Int32Array | Uint32Array;

export function typedArrayOf(dtype: DType, data: ArrayBuffer | ArrayLike<number>): NumericArray {
  const Ctor = dtype === 'float32' ? Float32Array : dtype === 'int32' ? Int32Array : Uint32Array;
  return data instanceof ArrayBuffer ? new Ctor(data) : Ctor.from(data);
}

/**
 * GPU memory shared by every view of it: a slice of a buffer (small tensors share slabs, see
 * kernels/slab-pool.ts), which kernels bind at its offset.
 */
export class Storage {
  refs = 1;
  /** Bumped by in-place writes, so autograd can tell that a saved tensor changed. */
  version = 0;
  constructor(
    readonly buffer: BufferSlice,
    readonly byteLength: number,
    /** The runtime (device) the slice belongs to; after a device loss there is nothing to release. */
    private readonly owner: Runtime,
  ) {}

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    const { buffer, owner } = this;
    if (owner.lost) return;
    owner.queue.afterSubmit(() => owner.storage.release(buffer));
  }
}

const finalizer = new FinalizationRegistry<Storage>((s) => {
  try {
    s.release();
  } catch {
    // the runtime may be gone at process exit; nothing to release then
  }
});

/** Tensors created inside the innermost `tidy()` scope; disposed when it ends. */
const scopes: Set<Tensor>[] = [];

/**
 * The scope outside every tidy(): tidyAsync's (src/tensor/tidy-async.ts) for the code running
 * inside it, else none. Set once by tidy-async.ts, so this file does not import it.
 */
let outerScope: () => Set<Tensor> | undefined = () => undefined;
export function setOuterScope(provider: () => Set<Tensor> | undefined): void {
  outerScope = provider;
}
/** Whether a synchronous tidy() is running (tidyAsync may not start inside one). */
export const insideTidy = (): boolean => scopes.length > 0;

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
  readonly dtype: DType;
  private _storage: Storage | null;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** How this tensor was computed (null for leaves and for tensors made without grad). */
  node: Node | null = null;
  /** Gradient hooks: each sees the incoming gradient and may return a replacement. */
  gradHooks: Array<(g: Tensor) => Tensor | void> = [];
  retainsGrad = false;
  /** Marked by `keep()` (and by owners such as .grad and optimiser state): survives `tidy()`. */
  kept = false;

  constructor(storage: Storage, shape: Shape, dtype: DType, strides?: Shape, offset = 0) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtype;
    finalizer.register(this, storage, this);
    (scopes[scopes.length - 1] ?? outerScope())?.add(this);
  }

  get storage(): Storage {
    if (!this._storage)
      throw new Error(
        `glassbox: tensor #${this.id} of shape ${shapeStr(this.shape)} was disposed (by dispose() or at the end of a tidy() scope) and cannot be used. ` +
          `Call keep(t) inside tidy() for tensors that must outlive it.`,
      );
    return this._storage;
  }

  get isDisposed(): boolean {
    return this._storage === null;
  }

  get rank(): number {
    return this.shape.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return numel(this.shape);
  }

  numel(): number {
    return numel(this.shape);
  }

  /** A leaf is a tensor autograd did not compute: inputs, parameters, constants. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  get isContiguous(): boolean {
    const want = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d === 1 || this.strides[i] === want[i]);
  }

  dispose(): void {
    if (!this._storage) return;
    finalizer.unregister(this);
    this._storage.release();
    this._storage = null;
    this.node = null;
  }

  /** Replaces this tensor's contents with `src`'s (same shape), in place; used by optimisers under noGrad. */
  assign(src: Tensor): this {
    if (src.shape.length !== this.shape.length || src.shape.some((d, i) => d !== this.shape[i]) || src.dtype !== this.dtype)
      throw new Error(`glassbox.assign: source ${shapeStr(src.shape)} ${src.dtype} does not match ${shapeStr(this.shape)} ${this.dtype}`);
    if (!src.isContiguous || src.offset !== 0) throw new Error('glassbox.assign: source must be a contiguous tensor (call .contiguous())');
    const old = this.storage;
    src.storage.retain();
    finalizer.unregister(this);
    this._storage = src.storage;
    (this as { strides: Shape }).strides = src.strides;
    (this as { offset: number }).offset = 0;
    finalizer.register(this, this._storage, this);
    this._storage.version = old.version + 1;
    old.release();
    return this;
  }

  /** Copies the elements (row-major, contiguous) to the CPU: a Float32Array, or Int32Array / Uint32Array for integer tensors. */
  async toArray(): Promise<NumericArray> {
    const { contiguous } = await import('./ops/views.ts');
    const t = this.isContiguous ? this : contiguous(this);
    const bytes = await readback(t.storage.buffer, t.offset * 4, t.size * 4);
    if (t !== this) t.dispose();
    await throwIfAnomaly();
    return typedArrayOf(this.dtype, bytes);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`glassbox.item: tensor has ${this.size} elements (shape ${shapeStr(this.shape)}); item() needs exactly one`);
    return (await this.toArray())[0]!;
  }

  /** Nested JavaScript arrays, like PyTorch's tolist(). */
  async tolist(): Promise<unknown> {
    const flat = Array.from(await this.toArray());
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return flat[start];
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, start + i * stride));
    };
    return build(0, 0);
  }

  toString(): string {
    return `Tensor(shape=${shapeStr(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}${this.node ? `, gradFn=${this.node.op}` : ''})`;
  }
}

/** Allocates an uninitialised contiguous tensor. */
export function emptyTensor(shape: Shape, dtype: DType = 'float32'): Tensor {
  const bytes = Math.max(numel(shape), 1) * 4;
  const rt = runtime();
  const limit = rt.device.limits.maxStorageBufferBindingSize;
  if (bytes > limit)
    throw new Error(
      `glassbox: a tensor of shape ${shapeStr(shape)} needs ${(bytes / 2 ** 20).toFixed(0)} MiB, more than this device binds at once (${(limit / 2 ** 20).toFixed(0)} MiB); ` +
        'use smaller batches (or split the work into slices)',
    );
  const slice = rt.storage.acquire(bytes, () => `a tensor of shape ${shapeStr(shape)}`);
  return new Tensor(new Storage(slice, bytes, rt), shape, dtype);
}

/** Uploads a typed array as a new contiguous tensor. */
export function tensorFromArray(data: Float32Array | Int32Array | Uint32Array, shape: Shape, dtype: DType): Tensor {
  if (data.length !== numel(shape))
    throw new Error(`glassbox.tensor: ${data.length} values do not fill shape ${shapeStr(shape)} (${numel(shape)} elements)`);
  const t = emptyTensor(shape, dtype);
  if (data.length > 0) upload(t.storage.buffer, data);
  return t;
}

/** A view sharing `base`'s storage. */
export function viewOf(base: Tensor, shape: Shape, strides: Shape, offset: number): Tensor {
  base.storage.retain();
  return new Tensor(base.storage, shape, base.dtype, strides, offset);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those it returns
 * (a tensor, or an array / object of tensors) and those marked with keep().
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) throw new Error('glassbox.tidy: the function must be synchronous (await outside tidy, or use dispose())');
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  const parent = scopes[scopes.length - 1] ?? outerScope();
  let disposed = false;
  for (const t of scope) {
    if (returned.has(t) || t.kept) {
      parent?.add(t);
      continue;
    }
    t.dispose();
    disposed = true;
  }
  // Buffers released inside an open encoder only become reusable after its submit; submitting
  // here (without waiting) lets the next step reuse them, so a loop's allocations stay flat.
  if (disposed && scopes.length === 0) runtime().queue.submit();
  return result;
}

export function collectTensors(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) value.forEach((v) => collectTensors(v, into));
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    Object.values(value).forEach((v) => collectTensors(v, into));
}

/** Exempts a tensor from the enclosing tidy() scopes. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}
