/**
 * IDX format (MNIST, Fashion-MNIST): parsing with full validation.
 *
 * Layout: 2 zero bytes, a data-type byte, a dimension-count byte, then one
 * big-endian uint32 per dimension, then the data (big-endian, row-major).
 * MNIST images: magic 0x00000803 (uint8, 3 dims: N, rows, cols);
 * labels: magic 0x00000801 (uint8, 1 dim: N).
 *
 * Why this does not use the `idx-data` npm package (a dependency in
 * package.json): we checked idx-data@1.1.0 and it is unsuitable here:
 *  1. It cannot be imported: dist/src/index.js does require('tslib'), but tslib
 *     is neither among its declared dependencies nor installed
 *     ("Cannot find module 'tslib'" under Node 20).
 *  2. It only reads from a path or a Readable stream, has no gzip support, and
 *     assumes the whole header arrives in the first stream chunk.
 *  3. It validates nothing: no magic check, no length check (a truncated file
 *     silently comes back zero-filled, extra bytes are dropped), and an unknown
 *     type byte throws inside a stream event handler (an uncaught exception,
 *     not a rejected promise), so errors cannot name the file or the problem.
 *  4. It converts byte by byte with Buffer#readUInt8 into a new array, where
 *     uint8 data can simply be a view of the file's bytes.
 * The header is small enough to parse here, with the checks we need.
 */
import { DatasetFormatError } from './errors.ts';
import { readMaybeGzipped } from './io.ts';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
  /** The 32-bit magic number (type byte << 8 | number of dimensions). */
  magic: number;
}

/** IDX type byte -> [dtype, bytes per element]. */
const IDX_TYPES: Record<number, [IdxDType, number]> = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
};

export const IDX_MAGIC_IMAGES = 0x00000803;
export const IDX_MAGIC_LABELS = 0x00000801;

export interface IdxExpect {
  /** Required magic number, e.g. IDX_MAGIC_IMAGES. */
  magic?: number;
  /** Required sizes per dimension; `undefined` entries are not checked. */
  shape?: (number | undefined)[];
}

function hex8(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

function describeMagic(magic: number): string {
  const type = IDX_TYPES[(magic >>> 8) & 0xff];
  return `${hex8(magic)} (${type ? type[0] : 'unknown type'}, ${magic & 0xff} dims)`;
}

/**
 * Parse an IDX file's bytes (already gunzipped). `file` is only used in error
 * messages. uint8/int8 data is returned as a view of `bytes` (no copy).
 */
export function parseIdx(bytes: Uint8Array, file = '<buffer>', expect: IdxExpect = {}): IdxArray {
  const len = bytes.length;
  if (len === 0) throw new DatasetFormatError(file, 'truncated', 'file is empty (0 bytes)');
  if (len < 4) throw new DatasetFormatError(file, 'truncated', `only ${len} bytes; an IDX file starts with a 4-byte magic number`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DatasetFormatError(file, 'wrong-format', `not an IDX file: magic ${hex8(magic)} does not start with two zero bytes`);
  }
  const typeInfo = IDX_TYPES[bytes[2]!];
  if (!typeInfo) {
    throw new DatasetFormatError(file, 'wrong-format', `not an IDX file: unknown data-type byte 0x${bytes[2]!.toString(16).padStart(2, '0')} in magic ${hex8(magic)}`);
  }
  const ndim = bytes[3]!;
  if (ndim === 0) throw new DatasetFormatError(file, 'wrong-format', `magic ${hex8(magic)} declares 0 dimensions`);
  if (expect.magic !== undefined && magic !== expect.magic) {
    throw new DatasetFormatError(file, 'wrong-format', `expected IDX magic ${describeMagic(expect.magic)}, found ${describeMagic(magic)}`);
  }
  const headerLen = 4 + 4 * ndim;
  if (len < headerLen) {
    throw new DatasetFormatError(file, 'truncated', `${len} bytes, but the header of a ${ndim}-dimensional IDX file is ${headerLen} bytes`);
  }
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  if (expect.shape) {
    if (expect.shape.length !== ndim) {
      throw new DatasetFormatError(file, 'wrong-format', `expected ${expect.shape.length} dimensions, found ${ndim} (shape ${shape.join('x')})`);
    }
    expect.shape.forEach((want, d) => {
      if (want !== undefined && shape[d] !== want) {
        throw new DatasetFormatError(file, 'wrong-format', `dimension ${d} is ${shape[d]}, expected ${want} (shape ${shape.join('x')})`);
      }
    });
  }
  const [dtype, elemSize] = typeInfo;
  const expectedLen = headerLen + count * elemSize;
  if (!Number.isSafeInteger(expectedLen)) {
    throw new DatasetFormatError(file, 'corrupt', `header declares an impossible size (shape ${shape.join('x')})`);
  }
  if (len < expectedLen) {
    throw new DatasetFormatError(file, 'truncated',
      `header says shape ${shape.join('x')} ${dtype} = ${expectedLen} bytes with the ${headerLen}-byte header, but the file has only ${len} bytes`);
  }
  if (len > expectedLen) {
    throw new DatasetFormatError(file, 'corrupt',
      `header says shape ${shape.join('x')} ${dtype} = ${expectedLen} bytes with the ${headerLen}-byte header, but the file has ${len - expectedLen} extra bytes`);
  }
  const off = bytes.byteOffset + headerLen;
  let data: IdxData;
  switch (dtype) {
    case 'uint8': data = bytes.subarray(headerLen, expectedLen); break;
    case 'int8': data = new Int8Array(bytes.buffer, off, count); break;
    case 'int16': { const a = new Int16Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt16(headerLen + 2 * i, false); data = a; break; }
    case 'int32': { const a = new Int32Array(count); for (let i = 0; i < count; i++) a[i] = view.getInt32(headerLen + 4 * i, false); data = a; break; }
    case 'float32': { const a = new Float32Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat32(headerLen + 4 * i, false); data = a; break; }
    case 'float64': { const a = new Float64Array(count); for (let i = 0; i < count; i++) a[i] = view.getFloat64(headerLen + 8 * i, false); data = a; break; }
  }
  return { dtype, shape, data, magic };
}

/** Read and parse an IDX file, gzipped (.gz, detected by content) or plain. */
export async function readIdxFile(file: string, expect: IdxExpect = {}): Promise<IdxArray> {
  return parseIdx(await readMaybeGzipped(file), file, expect);
}

/** Encode an IDX file (big-endian), e.g. to write test fixtures. */
export function encodeIdx(data: IdxData, shape: number[]): Uint8Array {
  let code: number;
  if (data instanceof Uint8Array) code = 0x08;
  else if (data instanceof Int8Array) code = 0x09;
  else if (data instanceof Int16Array) code = 0x0b;
  else if (data instanceof Int32Array) code = 0x0c;
  else if (data instanceof Float32Array) code = 0x0d;
  else code = 0x0e;
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeIdx: shape ${shape.join('x')} holds ${count} elements, data has ${data.length}`);
  const headerLen = 4 + 4 * shape.length;
  const out = new Uint8Array(headerLen + count * data.BYTES_PER_ELEMENT);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((s, d) => view.setUint32(4 + 4 * d, s, false));
  for (let i = 0; i < count; i++) {
    const o = headerLen + i * data.BYTES_PER_ELEMENT;
    const v = data[i]!;
    switch (code) {
      case 0x08: out[o] = v; break;
      case 0x09: view.setInt8(o, v); break;
      case 0x0b: view.setInt16(o, v, false); break;
      case 0x0c: view.setInt32(o, v, false); break;
      case 0x0d: view.setFloat32(o, v, false); break;
      default: view.setFloat64(o, v, false);
    }
  }
  return out;
}
