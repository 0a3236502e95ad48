/**
 * safetensors: PyTorch-made files (tests/fixtures/weights, from scripts/gen_fixtures_weights.py)
 * load into glassbox's MnistCnn and ResNet and reproduce PyTorch's logits (max abs error 1e-4;
 * about 1e-6 on lavapipe);
 * every dtype decodes as PyTorch converts it; our own save -> load is bit-exact; malformed files
 * and key mismatches give errors that name the tensor and the problem.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadSafetensors, parseSafetensors, saveSafetensors, writeSafetensors, type SafetensorsInput } from '../src/nn/safetensors.ts';
import { loadModel, saveModel } from '../src/nn/safetensors-file.ts';
import { MnistCnn } from '../src/nn/models/mnist-cnn.ts';
import { ResNet } from '../src/nn/models/resnet.ts';

const DIR = 'tests/fixtures/weights';
interface Flat { shape: number[]; data: number[] }
interface LogitsFixture { input: Flat; logits: Flat }
const readJson = <T>(name: string): T => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as T;
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(DIR, name)));
const mnistBytes = () => new Uint8Array(gunzipSync(readFileSync(join(DIR, 'mnist_cnn.safetensors.gz'))));
const narrowResNet = () => new ResNet({ widths: [4, 8, 16, 32], classes: 10 });

async function maxAbsDiff(model: gb.nn.Module, fx: LogitsFixture): Promise<number> {
  const y = model.forward(gb.tensor(Float32Array.from(fx.input.data), fx.input.shape));
  expect(y.shape).toEqual(fx.logits.shape);
  const got = await y.toArray();
  return Math.max(...fx.logits.data.map((e, i) => Math.abs(got[i]! - e)));
}

/** A file from a header object and raw data, for malformed cases. */
function rawFile(header: unknown, data: Uint8Array, headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('PyTorch files', () => {
  it('decodes every dtype as PyTorch converts it (F32 F16 BF16 F64 I64 I32 U8)', () => {
    const want = readJson<{ metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; decoded: string; data: number[] }> }>('dtypes.json');
    const file = parseSafetensors(bytesOf('dtypes.safetensors'));
    expect(file.metadata).toEqual(want.metadata);
    expect([...file.tensors.keys()]).toEqual(Object.keys(want.tensors));
    for (const [name, w] of Object.entries(want.tensors)) {
      const t = file.tensors.get(name)!;
      expect({ name, source: t.sourceDtype, dtype: t.dtype, shape: t.shape }).toEqual({ name, source: w.dtype, dtype: w.decoded, shape: w.shape });
      // Object.is tells -0 from 0; JSON's shortest float32 decimals round back exactly with fround
      const expected = w.decoded === 'float32' ? w.data.map(Math.fround) : w.data;
      Array.from(t.data).forEach((v, i) => expect(Object.is(v, expected[i]), `${name}[${i}] = ${v}, expected ${expected[i]}`).toBe(true));
    }
  });

  it("the PyTorch-examples MNIST CNN (F16) gives PyTorch's logits", async () => {
    const model = new MnistCnn().eval();
    const res = loadSafetensors(model, mnistBytes(), { from: 'pytorch' });
    expect({ missing: res.missing, unexpected: res.unexpected, skipped: res.skipped, mapping: res.mapping }).toEqual({ missing: [], unexpected: [], skipped: [], mapping: [] });
    expect(res.metadata.format).toBe('pt');
    expect(await maxAbsDiff(model, readJson('mnist_cnn.json'))).toBeLessThan(1e-4);
  });

  it("torchvision's ResNet structure (narrow widths, BN running stats) gives PyTorch's logits", async () => {
    const model = narrowResNet().eval();
    const res = loadSafetensors(model, bytesOf('resnet_narrow.safetensors'), { from: 'pytorch' });
    expect(res.missing).toEqual([]);
    expect(res.unexpected).toEqual([]);
    expect(res.skipped).toHaveLength(20); // num_batches_tracked of bn1, 16 block BNs, 3 downsample BNs
    expect(res.renamed.get('layer2.0.downsample.1.running_var')).toBe('layer2.0.downsample.1.runningVar');
    expect(res.mapping).toEqual(['running_mean -> runningMean (20 keys)', 'running_var -> runningVar (20 keys)', 'skipped num_batches_tracked (20 keys)']);
    expect(await maxAbsDiff(model, readJson('resnet_narrow.json'))).toBeLessThan(1e-4);
  });

  it('a PyTorch file with a missing key fails with the missing keys and the mapping applied', () => {
    const file = parseSafetensors(bytesOf('resnet_narrow.safetensors'));
    const kept: SafetensorsInput = new Map([...file.tensors].filter(([k]) => k !== 'fc.bias' && k !== 'layer3.1.bn2.running_mean'));
    const bytes = writeSafetensors(kept);
    const load = (strict?: boolean) => loadSafetensors(narrowResNet(), bytes, { from: 'pytorch', strict });
    expect(() => load()).toThrow(/missing keys \(2, in the model but not in the file\): \[fc\.bias, layer3\.1\.bn2\.runningMean\]/);
    expect(() => load()).toThrow(/unexpected keys \(0, .*\): \[\]/);
    expect(() => load()).toThrow(/name mapping applied: running_mean -> runningMean \(19 keys\); running_var -> runningVar \(20 keys\); skipped num_batches_tracked \(20 keys\)/);
    expect(load(false).missing).toEqual(['fc.bias', 'layer3.1.bn2.runningMean']); // parameters first, then buffers
  });

  it("a PyTorch file loaded with glassbox's names lists the unexpected keys and hints at from: 'pytorch'", () => {
    const err = () => loadSafetensors(narrowResNet(), bytesOf('resnet_narrow.safetensors'));
    expect(err).toThrow(/unexpected keys \(60, in the file but not in the model\): \[bn1\.running_mean, bn1\.running_var, bn1\.num_batches_tracked/);
    expect(err).toThrow(/name mapping applied: none/);
    expect(err).toThrow(/pass \{ from: 'pytorch' \}/);
  });

  it('a shape mismatch names the tensor and leaves the model unchanged', async () => {
    const model = new ResNet({ widths: [4, 8, 16, 32], classes: 7 });
    const before = await model.conv1.weight.toArray();
    expect(() => loadSafetensors(model, bytesOf('resnet_narrow.safetensors'), { from: 'pytorch' })).toThrow(
      "glassbox.nn.loadSafetensors: 'fc.weight' has shape [10, 32] in the file but the model expects [7, 32]",
    );
    expect(await model.conv1.weight.toArray()).toEqual(before);
  });
});

describe('glassbox files', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'glassbox-st-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('save -> load round-trips every parameter and buffer bit-exactly, and saving is deterministic', async () => {
    const source = narrowResNet();
    loadSafetensors(source, bytesOf('resnet_narrow.safetensors'), { from: 'pytorch' });
    const bytes = await saveSafetensors(source, { metadata: { note: 'round trip' } });
    expect(await saveSafetensors(source, { metadata: { note: 'round trip' } })).toEqual(bytes);
    expect(parseSafetensors(bytes).metadata).toEqual({ format: 'glassbox', note: 'round trip' });

    const copy = narrowResNet();
    const res = loadSafetensors(copy, bytes);
    expect([res.missing, res.unexpected, res.mapping]).toEqual([[], [], []]);
    const want = source.stateDict();
    expect([...copy.stateDict().keys()]).toEqual([...want.keys()]);
    for (const [name, t] of copy.stateDict()) {
      const a = new Uint32Array((await t.toArray()).buffer);
      const b = new Uint32Array((await want.get(name)!.toArray()).buffer);
      expect(a, name).toEqual(b);
    }
  });

  it('saveModel writes atomically (no temp file left) and loadModel reads it back', async () => {
    const path = join(tmp, 'mnist.safetensors');
    const source = new MnistCnn();
    await saveModel(path, source);
    await saveModel(path, source); // overwrite in place
    expect(readdirSync(tmp)).toEqual(['mnist.safetensors']);
    const copy = new MnistCnn();
    await loadModel(path, copy);
    expect(await copy.fc1.weight.toArray()).toEqual(await source.fc1.weight.toArray());
    await expect(loadModel(join(tmp, 'mnist.safetensors'), narrowResNet())).rejects.toThrow(/missing keys[\s\S]*\(file: .*mnist\.safetensors\)/);
  });
});

describe('malformed files', () => {
  const good = () => writeSafetensors(new Map([['a.weight', { shape: [2, 3], data: new Float32Array(6).fill(1.5) }], ['a.bias', { shape: [2], data: new Float32Array([1, 2]) }]]));

  it('a truncated file', () => {
    const bytes = good();
    expect(() => parseSafetensors(bytes.subarray(0, 5))).toThrow('glassbox.safetensors: file is 5 bytes, too short for the 8-byte header length');
    expect(() => parseSafetensors(bytes.subarray(0, 20))).toThrow(/header length \d+ runs past the end of the file \(20 bytes/);
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 4))).toThrow(/tensor 'a.bias': data_offsets \[24, 32\] are out of range: the data section is 28 bytes/);
  });

  it('a header that is not JSON, or not an object of entries', () => {
    expect(() => parseSafetensors(rawFile(null, new Uint8Array(0), '{"a": {"dtype": "F32",'))).toThrow(/glassbox.safetensors: header is not valid JSON/);
    expect(() => parseSafetensors(rawFile([1, 2], new Uint8Array(0)))).toThrow(/header must be a JSON object/);
    expect(() => parseSafetensors(rawFile({ x: { dtype: 'F32', shape: [1] } }, new Uint8Array(4)))).toThrow(/tensor 'x': data_offsets must be \[begin, end\]/);
    expect(() => parseSafetensors(rawFile({ x: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)))).toThrow(/tensor 'x': dtype C64 is not supported/);
    expect(() => parseSafetensors(rawFile({ __metadata__: { n: 3 } }, new Uint8Array(0)))).toThrow(/__metadata__ value 'n' must be a string/);
  });

  it('offsets out of range, reversed or overlapping', () => {
    const data = new Uint8Array(16);
    expect(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }, data))).toThrow(
      "glassbox.safetensors: tensor 'w': data_offsets [8, 24] are out of range: the data section is 16 bytes",
    );
    expect(() => parseSafetensors(rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, data))).toThrow(/tensor 'w': data_offsets \[8, 4\] end before they begin/);
    expect(() => parseSafetensors(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, data))).toThrow(
      "glassbox.safetensors: tensor 'b': data_offsets [8, 16] overlap those of 'a' [0, 12]",
    );
  });

  it('a size that does not match the shape and dtype', () => {
    expect(() => parseSafetensors(rawFile({ w: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 16] } }, new Uint8Array(16)))).toThrow(
      "glassbox.safetensors: tensor 'w': data_offsets [0, 16] hold 16 bytes but F16 of shape [2, 3] needs 12 (6 x 2)",
    );
  });

  it('an I64 value outside int32', () => {
    const data = new Uint8Array(16);
    new DataView(data.buffer).setBigInt64(8, 2n ** 40n, true);
    expect(() => parseSafetensors(rawFile({ steps: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, data))).toThrow(
      "glassbox.safetensors: tensor 'steps': I64 value 1099511627776 at element 1 does not fit int32",
    );
  });

  it('F16 and BF16 infinities and NaN', () => {
    const data = new Uint8Array([0x00, 0x7c, 0x00, 0xfc, 0x01, 0x7e, 0x80, 0x7f, 0x80, 0xff, 0xc0, 0x7f]);
    const file = parseSafetensors(rawFile({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] } }, data));
    expect(Array.from(file.tensors.get('h')!.data)).toEqual([Infinity, -Infinity, NaN]);
    expect(Array.from(file.tensors.get('b')!.data)).toEqual([Infinity, -Infinity, NaN]);
  });

  it('a file in a Node Buffer that views a shared pool (byteOffset > 0) decodes its own bytes, not the pool start', () => {
    // Buffer.from copies small arrays into Node's shared 8 KiB pool: its .buffer is the pool
    const pooled = Buffer.from(good());
    expect(pooled.byteOffset).toBeGreaterThan(0);
    const file = parseSafetensors(pooled);
    expect(Array.from(file.tensors.get('a.weight')!.data)).toEqual([1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(file.tensors.get('a.bias')!.data)).toEqual([1, 2]);
    // and a view at an unaligned offset of a larger array
    const inner = good();
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    expect(Array.from(parseSafetensors(outer.subarray(3)).tensors.get('a.bias')!.data)).toEqual([1, 2]);
  });

  it("names and text from the file are escaped in messages: no raw control bytes reach the terminal", () => {
    const evil = 'w\u001b[2J\u0000\u202e';
    const messages = [
      () => parseSafetensors(rawFile({ [evil]: { dtype: 'F32', shape: [1] } }, new Uint8Array(4))),
      () => parseSafetensors(rawFile({ x: { dtype: evil, shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4))),
      () => parseSafetensors(rawFile(null, new Uint8Array(0), `{"\u001b[31m": 1\u0000`)),
    ].map((f) => {
      try {
        f();
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('accepted');
    });
    for (const m of messages) expect(m).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(messages[0]).toContain("tensor 'w\\x1b[2J\\x00\\u202e'");
    expect(messages[1]).toContain('dtype w\\x1b[2J\\x00\\u202e is not supported');
  });
});
