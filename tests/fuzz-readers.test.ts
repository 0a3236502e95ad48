/**
 * Property-based fuzzing (fast-check) of the readers of untrusted files: IDX (MNIST), CIFAR-10
 * batches, gzip, safetensors and checkpoint.json. Each gets 10,000 inputs, random or mutated from a
 * valid file (bit flips, overwritten, inserted and deleted bytes, cuts; random header values). The
 * property: the reader returns a result that is consistent with its input, or throws glassbox's
 * named error; never another exception, a hang (each file runs in seconds) or an allocation larger
 * than the input justifies. A failing input is printed by fast-check with its seed, to replay.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DatasetFormatError } from '../datasets/errors.ts';
import { cifarRecordCount, CIFAR10_RECORD_BYTES, decodeCifarBatches } from '../datasets/cifar10.ts';
import { encodeIdx, parseIdx } from '../datasets/idx.ts';
import { gunzipBytes } from '../datasets/io.ts';
import { numel } from '../src/tensor/shape.ts';
import { parseSafetensors, writeSafetensors } from '../src/nn/safetensors.ts';
import { CheckpointError, parseManifest } from '../src/train/checkpoint.ts';

const RUNS = 10_000;
const params = { numRuns: RUNS, seed: 22, endOnFailure: true };

type Mutation = { op: 'flip' | 'set' | 'insert' | 'delete' | 'cut'; at: number; value: number };

/** Applies byte mutations at positions taken modulo the length (the length changes as they apply). */
function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(seed);
  for (const { op, at, value } of mutations) {
    const i = b.length ? at % b.length : 0;
    if (op === 'flip' && b.length) b[i] = b[i]! ^ (1 << (value & 7));
    else if (op === 'set' && b.length) b[i] = value;
    else if (op === 'insert') b.splice(i, 0, value);
    else if (op === 'delete') b.splice(i, 1 + (value & 15));
    else if (op === 'cut') b = b.slice(0, i);
  }
  return Uint8Array.from(b);
}

const mutation: fc.Arbitrary<Mutation> = fc.record({ op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'cut'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });

/** Random bytes, or `seeds` with 1 to 6 mutations, or with a random big-endian/little-endian word written over one of `words`. */
function fuzzedBytes(seeds: Uint8Array[], words: number[] = []): fc.Arbitrary<Uint8Array> {
  const seed = fc.constantFrom(...seeds);
  const arbitraries: fc.Arbitrary<Uint8Array>[] = [
    fc.uint8Array({ maxLength: 256 }),
    fc.tuple(seed, fc.array(mutation, { minLength: 1, maxLength: 6 })).map(([s, m]) => mutate(s, m)),
  ];
  if (words.length)
    arbitraries.push(
      fc.tuple(seed, fc.constantFrom(...words), fc.oneof(fc.constantFrom(0, 1, 0xffffffff, 0x7fffffff, 0x10000), fc.nat({ max: 0xffffffff })), fc.boolean()).map(([s, at, v, le]) => {
        const b = s.slice();
        if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, v, le);
        return b;
      }),
    );
  return fc.oneof(...arbitraries);
}

/** Runs `read`; any exception other than the reader's named error fails the property. */
function parsesOrNamedError<T>(read: () => T, isNamed: (e: unknown) => boolean, check: (result: T) => void): void {
  let result: T;
  try {
    result = read();
  } catch (e) {
    if (isNamed(e)) return;
    throw e;
  }
  check(result);
}

const isFormatError = (e: unknown) => e instanceof DatasetFormatError;

describe('fuzzing the readers of untrusted files (10,000 inputs each)', () => {
  it('IDX: a result consistent with its header and the file size, or DatasetFormatError', () => {
    const seeds = [
      encodeIdx(Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i), [3, 4, 5]),
      encodeIdx(Uint8Array.from([1, 2, 3]), [3]),
      encodeIdx(Float32Array.from([1.5, -2, NaN]), [3, 1]),
      encodeIdx(Int16Array.from([1, -2]), [2]),
    ];
    fc.assert(
      fc.property(fuzzedBytes(seeds, [0, 4, 8, 12]), (bytes) =>
        parsesOrNamedError(() => parseIdx(bytes, 'fuzz.idx'), isFormatError, (a) => {
          expect(a.data.length).toBe(a.shape.reduce((x, y) => x * y, 1));
          expect(a.data.length).toBeLessThanOrEqual(bytes.length); // no allocation past the input
          expect(a.data.length * a.data.BYTES_PER_ELEMENT + 4 + 4 * a.shape.length).toBe(bytes.length);
        }),
      ),
      params,
    );
  });

  it('CIFAR-10 batches: whole records with labels 0..9, or DatasetFormatError', () => {
    const record = (label: number) => Uint8Array.from({ length: CIFAR10_RECORD_BYTES }, (_, i) => (i === 0 ? label : (i * 7) & 0xff));
    const twoRecords = new Uint8Array(2 * CIFAR10_RECORD_BYTES);
    twoRecords.set(record(3), 0);
    twoRecords.set(record(9), CIFAR10_RECORD_BYTES);
    const seeds = [record(0), twoRecords];
    // mutations near the label bytes matter most: also write random bytes there
    const labelHits = fc.tuple(fc.constantFrom(...seeds), fc.integer({ min: 0, max: 255 })).map(([s, v]) => {
      const b = s.slice();
      b[s.length > CIFAR10_RECORD_BYTES ? CIFAR10_RECORD_BYTES : 0] = v;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fuzzedBytes(seeds), labelHits), fc.option(fc.nat({ max: 5 })), (bytes, limit) =>
        parsesOrNamedError(() => decodeCifarBatches([{ file: 'fuzz.bin', bytes }], limit ?? undefined), isFormatError, (d) => {
          const records = cifarRecordCount(bytes, 'fuzz.bin');
          expect(d.n).toBe(Math.min(records, limit ?? Infinity));
          expect(d.images.length).toBe(d.n * 3072);
          expect(d.labels.every((l) => l <= 9)).toBe(true);
        }),
      ),
      params,
    );
  });

  it('gzip: the bytes inflated within the cap, or DatasetFormatError (never a raw zlib error or more than the cap)', async () => {
    const cap = { bytes: 4096, why: 'a fuzzing cap' };
    const seeds = [gzipSync(encodeIdx(Uint8Array.from({ length: 60 }, (_, i) => i), [3, 4, 5])), gzipSync(new Uint8Array(3000)), gzipSync(new Uint8Array(100_000))];
    await fc.assert(
      fc.asyncProperty(fuzzedBytes(seeds), async (bytes) => {
        try {
          const out = await gunzipBytes(bytes, 'fuzz.gz', cap);
          expect(out.length).toBeLessThanOrEqual(cap.bytes);
        } catch (e) {
          if (!isFormatError(e)) throw e;
        }
      }),
      params,
    );
  });

  it('safetensors: tensors that fit their shape and the file, or a glassbox.safetensors error', () => {
    const seeds = [
      writeSafetensors(new Map([['a.weight', { shape: [2, 3], data: new Float32Array(6).fill(1.5) }], ['a.bias', { shape: [2], data: Int32Array.from([1, -2]) }]]), { epoch: '2' }),
      writeSafetensors(new Map([['u', { shape: [3], data: Uint32Array.from([1, 2, 3]) }]])),
    ];
    // headers built from random entries reach the field checks that byte mutations rarely do
    const count = fc.oneof(fc.nat({ max: 8 }), fc.constantFrom(-1, 1.5, 2 ** 53, 1e300, Number.NaN));
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom('F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'U32', 'U8'), fc.string({ maxLength: 4 })),
      shape: fc.oneof(fc.array(count, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      data_offsets: fc.oneof(fc.tuple(count, count), fc.jsonValue({ maxDepth: 1 })),
    });
    const built = fc.tuple(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(entry, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 3 }), fc.uint8Array({ maxLength: 64 })).map(([header, data]) => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      const out = new Uint8Array(8 + json.length + data.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      out.set(data, 8 + json.length);
      return out;
    });
    const isNamed = (e: unknown) => e instanceof Error && e.message.startsWith('glassbox.safetensors: ') && !/[\u0000-\u001f\u007f-\u009f]/.test(e.message);
    fc.assert(
      fc.property(fc.oneof(fuzzedBytes(seeds, [0, 4]), built), fc.nat({ max: 7 }), (bytes, shift) => {
        // at an odd offset of a larger buffer too: views must be read at their own offset
        const view = new Uint8Array(bytes.length + shift);
        view.set(bytes, shift);
        parsesOrNamedError(() => parseSafetensors(view.subarray(shift)), isNamed, (file) => {
          let elements = 0;
          for (const t of file.tensors.values()) {
            expect(t.data.length).toBe(numel(t.shape));
            elements += t.data.length;
          }
          expect(elements).toBeLessThanOrEqual(bytes.length); // every element takes at least one byte of the file
        });
      }),
      params,
    );
  });

  it('checkpoint.json: a state whose fields are all in range, or CheckpointError naming the file', () => {
    const config = { model: 'mlp', dataset: 'mnist', optimizer: 'adam', lr: 0.001, epochs: 3, batchSize: 64, schedule: 'none', seed: 3, limit: 640 };
    const record = (epoch: number) => ({ epoch, lr: 0.001, trainLoss: 0.5, trainAccuracy: 0.8, valLoss: 0.4, valAccuracy: 0.85, seconds: 1.5, imagesPerSecond: 400 });
    const manifest = {
      format: 'glassbox-checkpoint', version: 2, config, epoch: 2, optimizer: { step: 20, lr: 0.001 }, rng: { seed: 3, counter: 1234 }, history: [record(1), record(2)],
      dir: 'checkpoints/epoch-0002-0a1b2c3d', files: { 'model.safetensors': { sha256: 'a'.repeat(64), bytes: 1000 }, 'optimizer.safetensors': { sha256: 'b'.repeat(64), bytes: 2000 } },
    };
    const text = JSON.stringify(manifest);
    expect(parseManifest('c.json', text).epoch).toBe(2);
    const encoder = new TextEncoder();
    const decoder = new TextDecoder();
    // a field anywhere in the manifest replaced by a random JSON value, or deleted
    const paths: string[][] = [];
    const walk = (v: unknown, at: string[]) => {
      paths.push(at);
      if (typeof v === 'object' && v !== null) for (const [k, c] of Object.entries(v)) walk(c, [...at, k]);
    };
    walk(manifest, []);
    const replaced = fc.tuple(fc.constantFrom(...paths.slice(1)), fc.option(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(1e9, -3, 'abc', 0, 2.5, -0, 1e308, null)))).map(([path, value]) => {
      const copy = JSON.parse(text);
      let parent = copy;
      for (const key of path.slice(0, -1)) parent = parent[key];
      if (value === null) delete parent[path[path.length - 1]!];
      else parent[path[path.length - 1]!] = value;
      return JSON.stringify(copy);
    });
    const bytesMutated = fuzzedBytes([encoder.encode(text)]).map((b) => decoder.decode(b));
    fc.assert(
      fc.property(fc.oneof(replaced, bytesMutated, fc.string({ maxLength: 64 })), (input) =>
        parsesOrNamedError(() => parseManifest('c.json', input), (e) => e instanceof CheckpointError && e.message.includes('c.json'), (state) => {
          expect(Number.isSafeInteger(state.epoch) && state.epoch >= 1 && state.epoch <= state.config.epochs).toBe(true);
          expect(state.config.epochs).toBeLessThanOrEqual(1_000_000);
          expect(state.history).toHaveLength(state.epoch);
          expect(Number.isSafeInteger(state.rng.counter) && Number.isSafeInteger(state.optimizer.step)).toBe(true);
          expect(Number.isFinite(state.optimizer.lr) && Number.isFinite(state.config.lr)).toBe(true);
        }),
      ),
      params,
    );
  });
});
