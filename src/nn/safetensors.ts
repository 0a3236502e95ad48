/**
 * The safetensors weight format, read and written in memory (browser-safe: no Node imports).
 *
 * A file is: 8 bytes (u64, little-endian) giving the header's length N; N bytes of UTF-8 JSON
 * `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}`;
 * then the data, each tensor's raw little-endian row-major bytes at [begin, end) counted from the
 * end of the header. Decoding converts to glassbox's dtypes: floats (F64, F32, F16, BF16) to
 * float32, I64 and I32 to int32 (I64 must fit), U8 and U32 to uint32.
 *
 * `saveSafetensors` / `loadSafetensors` move a Module's state dict through that format, optionally
 * translating PyTorch's state-dict names (`running_mean`) to glassbox's (`runningMean`).
 */
import { tensorFromArray, type DType, type NumericArray, type Tensor } from '../tensor/tensor.ts';
import { numel, shapeStr } from '../tensor/shape.ts';
import type { Module } from './module.ts';
import { printable } from '../../datasets/printable.ts';

/** Element types this reader understands, with their size in bytes. */
const DTYPE_BYTES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U32: 4, U8: 1 } as const;
export type SafetensorsDType = keyof typeof DTYPE_BYTES;

/** One decoded tensor: `data` is row-major in glassbox's dtype; `sourceDtype` is the file's. */
export interface SafetensorsTensor {
  dtype: DType;
  sourceDtype: SafetensorsDType;
  shape: number[];
  data: NumericArray;
}

export interface SafetensorsFile {
  /** In the order of the header. */
  tensors: Map<string, SafetensorsTensor>;
  /** The header's `__metadata__` (string to string), or {} when absent. */
  metadata: Record<string, string>;
}

/** Tensors to write: row-major data whose typed array picks the dtype (Float32 -> F32, Int32 -> I32, Uint32 -> U32). */
export type SafetensorsInput = Map<string, { shape: readonly number[]; data: NumericArray }>;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
// The reference implementation refuses headers over 100 MB; so do we, before decoding them.
const MAX_HEADER_BYTES = 100_000_000;

/** Messages quote names and text from the file: printable() escapes what a terminal would act on. */
function fail(msg: string): never {
  throw new Error(`glassbox.safetensors: ${printable(msg, 2000)}`);
}

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

/** Parses a safetensors file, validating the header and every tensor's extent before decoding. */
export function parseSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(bytes.length - 8))
    fail(`header length ${headerLen} runs past the end of the file (${bytes.length} bytes: ${bytes.length - 8} after the length field); the file is truncated or not safetensors`);
  if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLen} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  const dataStart = 8 + Number(headerLen);
  const dataLen = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header must be a JSON object of tensor entries');

  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') fail(`__metadata__ value '${k}' must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push({ name, ...checkEntry(name, raw, dataLen) });
  }

  // extents must not overlap (checked in file order, whatever the header's order)
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (cur.begin < prev.end && cur.end > cur.begin)
      fail(`tensor '${cur.name}': data_offsets [${cur.begin}, ${cur.end}] overlap those of '${prev.name}' [${prev.begin}, ${prev.end}]`);
  }

  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) {
    const { dtype, data } = decode(e.name, e.dtype, bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, { dtype, sourceDtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

function checkEntry(name: string, raw: unknown, dataLen: number): { dtype: SafetensorsDType; shape: number[]; begin: number; end: number } {
  const where = `tensor '${name}'`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${where}: entry must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(`${where}: missing dtype`);
  if (!(dtype in DTYPE_BYTES)) fail(`${where}: dtype ${dtype} is not supported (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
    fail(`${where}: data_offsets must be [begin, end] (non-negative integers), got ${JSON.stringify(offsets)}`);
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
  if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] are out of range: the data section is ${dataLen} bytes`);
  const size = DTYPE_BYTES[dtype as SafetensorsDType];
  const need = numel(shape as number[]) * size;
  if (end - begin !== need)
    fail(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} of shape ${shapeStr(shape as number[])} needs ${need} (${numel(shape as number[])} x ${size})`);
  return { dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], begin, end };
}

/** Decodes little-endian elements of `src` to glassbox's dtype. */
function decode(name: string, dtype: SafetensorsDType, src: Uint8Array): { dtype: DType; data: NumericArray } {
  const n = src.length / DTYPE_BYTES[dtype];
  // copying to a fresh buffer aligns it, so typed arrays can view it directly. Not src.slice():
  // on a Node Buffer that is a view into the same (often shared, pooled) memory, whose .buffer
  // starts elsewhere; new Uint8Array(src) always copies exactly src's bytes.
  const aligned = (): ArrayBuffer => new Uint8Array(src).buffer;
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  switch (dtype) {
    case 'F32':
      return { dtype: 'float32', data: LITTLE_ENDIAN ? new Float32Array(aligned()) : Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true)) };
    case 'I32':
      return { dtype: 'int32', data: LITTLE_ENDIAN ? new Int32Array(aligned()) : Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true)) };
    case 'U32':
      return { dtype: 'uint32', data: LITTLE_ENDIAN ? new Uint32Array(aligned()) : Uint32Array.from({ length: n }, (_, i) => view.getUint32(i * 4, true)) };
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return { dtype: 'float32', data: out };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return { dtype: 'float32', data: out };
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return { dtype: 'float32', data: new Float32Array(bits.buffer) };
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) fail(`tensor '${name}': I64 value ${v} at element ${i} does not fit int32`);
        out[i] = Number(v);
      }
      return { dtype: 'int32', data: out };
    }
    case 'U8':
      return { dtype: 'uint32', data: Uint32Array.from(src) };
  }
}

/** IEEE 754 binary16 bits to a number (exact: every half is a float32). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // zero and subnormals
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

/**
 * Serialises tensors in the given order: the header (with `__metadata__` first when given) is
 * padded with spaces to a multiple of 8 bytes so the data starts aligned, as the reference writer does.
 */
export function writeSafetensors(tensors: SafetensorsInput, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === '__metadata__') fail(`'__metadata__' cannot name a tensor`);
    if (data.length !== numel(shape)) fail(`tensor '${name}': ${data.length} values do not fill shape ${shapeStr(shape)}`);
    const dtype = data instanceof Float32Array ? 'F32' : data instanceof Int32Array ? 'I32' : 'U32';
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const { data } of tensors.values()) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    else for (let i = 0; i < data.length; i++) view[data instanceof Float32Array ? 'setFloat32' : data instanceof Int32Array ? 'setInt32' : 'setUint32'](pos + i * 4, data[i]!, true);
    pos += data.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// modules
// ---------------------------------------------------------------------------------------------

/** Every parameter and buffer of `module` under glassbox's names (its stateDict()), as safetensors bytes. */
export async function saveSafetensors(module: Module, opts: { metadata?: Record<string, string> } = {}): Promise<Uint8Array> {
  const entries: SafetensorsInput = new Map();
  for (const [name, t] of module.stateDict()) entries.set(name, { shape: t.shape, data: await t.toArray() });
  return writeSafetensors(entries, { format: 'glassbox', ...opts.metadata });
}

export interface LoadSafetensorsOptions {
  /** Throw when a key is missing or unexpected (default true). Shape mismatches always throw. */
  strict?: boolean;
  /** Whose names the file uses: glassbox's own (default) or a PyTorch state dict's. */
  from?: 'glassbox' | 'pytorch';
}

export interface LoadSafetensorsResult {
  /** The model's keys that the file did not provide. */
  missing: string[];
  /** The file's keys (as written in the file) that the model has no place for. */
  unexpected: string[];
  /** The file's keys that were deliberately ignored (PyTorch's num_batches_tracked). */
  skipped: string[];
  /** File key -> model key, for every key that was renamed. */
  renamed: Map<string, string>;
  /** What was done to the names, in words (empty when nothing was). */
  mapping: string[];
  metadata: Record<string, string>;
}

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Loads a safetensors file into `module`'s parameters and buffers (shapes must match; values are
 * converted to each target's dtype).
 *
 * `from: 'pytorch'` maps a PyTorch state dict's names to glassbox's: a key is used as written when
 * the model has it, else with its last part in camelCase (`bn1.running_mean` -> `bn1.runningMean`),
 * else with every part in camelCase; `num_batches_tracked` is skipped (glassbox's batch norm keeps
 * no step count). Module paths are otherwise left alone: glassbox models name their fields like
 * PyTorch's (conv1, layer1.0.downsample.0, fc).
 */
export function loadSafetensors(module: Module, bytes: Uint8Array, opts: LoadSafetensorsOptions = {}): LoadSafetensorsResult {
  const from = opts.from ?? 'glassbox';
  const file = parseSafetensors(bytes);
  const own = module.stateDict();
  const target = new Map<string, { fileKey: string; t: SafetensorsTensor }>();
  const unexpected: string[] = [];
  const skipped: string[] = [];
  const renamed = new Map<string, string>();

  for (const [fileKey, t] of file.tensors) {
    let key: string | undefined = fileKey;
    if (from === 'pytorch' && !own.has(fileKey)) {
      const parts = fileKey.split('.');
      if (parts[parts.length - 1] === 'num_batches_tracked') {
        skipped.push(fileKey);
        continue;
      }
      const lastCamel = [...parts.slice(0, -1), snakeToCamel(parts[parts.length - 1]!)].join('.');
      const allCamel = parts.map(snakeToCamel).join('.');
      key = [lastCamel, allCamel].find((k) => own.has(k));
      if (key) renamed.set(fileKey, key);
    }
    if (key === undefined || !own.has(key)) unexpected.push(fileKey);
    else target.set(key, { fileKey, t });
  }
  const missing = [...own.keys()].filter((k) => !target.has(k));
  const mapping = describeMapping(from, renamed, skipped);

  if ((opts.strict ?? true) && (missing.length || unexpected.length)) {
    const list = (keys: string[]) => printable(keys.length > 20 ? `${keys.slice(0, 20).join(', ')}, ... (${keys.length - 20} more)` : keys.join(', '), 4000);
    const lines = [
      `glassbox.nn.loadSafetensors (from '${from}'): the file does not match the model's state dict.`,
      `  missing keys (${missing.length}, in the model but not in the file): [${list(missing)}]`,
      `  unexpected keys (${unexpected.length}, in the file but not in the model): [${list(unexpected)}]`,
      `  name mapping applied: ${mapping.length ? mapping.join('; ') : 'none (names used as written)'}`,
    ];
    if (from === 'glassbox' && unexpected.some((k) => /(^|\.)(running_mean|running_var|num_batches_tracked)$/.test(k)))
      lines.push(`  hint: the file has PyTorch's names (running_mean, num_batches_tracked); pass { from: 'pytorch' }`);
    throw new Error(lines.join('\n'));
  }

  // check every shape before changing anything, so a mismatch leaves the model as it was
  for (const [key, { fileKey, t }] of target) {
    const want = own.get(key)!.shape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i]))
      throw new Error(
        `glassbox.nn.loadSafetensors: '${printable(fileKey)}'${fileKey !== key ? ` (model key '${key}')` : ''} has shape ${shapeStr(t.shape)} in the file but the model expects ${shapeStr(want)}`,
      );
  }
  for (const [key, { t }] of target) {
    const dest = own.get(key)!;
    const src: Tensor = tensorFromArray(convert(t.data, dest.dtype), t.shape, dest.dtype);
    dest.assign(src); // dest now shares src's fresh storage
    src.dispose();
  }
  return { missing, unexpected, skipped, renamed, mapping, metadata: file.metadata };
}

function convert(data: NumericArray, dtype: DType): NumericArray {
  if (dtype === 'float32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === 'int32') return data instanceof Int32Array ? data : Int32Array.from(data, Math.trunc);
  return data instanceof Uint32Array ? data : Uint32Array.from(data, Math.trunc);
}

function describeMapping(from: string, renamed: Map<string, string>, skipped: string[]): string[] {
  if (from !== 'pytorch') return [];
  const out: string[] = [];
  // group renames by their changed suffix: "running_mean -> runningMean (20 keys)"
  const groups = new Map<string, number>();
  for (const [a, b] of renamed) {
    const pa = a.split('.');
    const pb = b.split('.');
    const i = pa.findIndex((p, j) => p !== pb[j]);
    const label = `${pa.slice(i).join('.')} -> ${pb.slice(i).join('.')}`;
    groups.set(label, (groups.get(label) ?? 0) + 1);
  }
  for (const [label, n] of groups) out.push(`${label} (${n} key${n === 1 ? '' : 's'})`);
  if (skipped.length) out.push(`skipped num_batches_tracked (${skipped.length} key${skipped.length === 1 ? '' : 's'})`);
  return out;
}
