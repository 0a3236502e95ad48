/**
 * The PNG decoder against untrusted files (issue 22, items 6 and 10): a size cap checked before
 * anything of the claimed size is allocated, header bytes escaped in messages, and 10,000+
 * mutated or random files, each of which decodes or throws PngError: no other exception, no hang,
 * no image over the cap. Mutations re-sign the chunks' CRCs (most of the time), so they reach
 * the IHDR checks, the inflater and the filters instead of stopping at the checksum.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng, PngError, readPng, createImage, DEFAULT_MAX_PIXELS } from '../src/viz/node.ts';
import { buildPng, ihdr, splitPng, type Chunk } from './png-chunks.ts';

/** A 20000x20000 RGBA image of zeros claimed by a ~400 KB file (as in the probe). */
function hugeClaim(): Uint8Array {
  const rows = 64; // far fewer rows than claimed: the decoder must refuse before reading them
  return buildPng([['IHDR', ihdr(20000, 20000)], ['IDAT', deflateSync(new Uint8Array(rows * (1 + 20000 * 4)))], ['IEND', []]]);
}

describe('PNG size cap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'png-cap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an image claiming 20000x20000 at once, naming the size, the cap and how to raise it', () => {
    const bytes = hugeClaim();
    const started = performance.now();
    expect(() => decodePng(bytes)).toThrow(PngError);
    expect(() => decodePng(bytes)).toThrow(`20000x20000 (400000000 pixels), more than the cap of ${DEFAULT_MAX_PIXELS} pixels; pass a larger maxPixels`);
    expect(performance.now() - started).toBeLessThan(1000);
    // the file reader names the file and the environment variable
    const path = join(dir, 'huge.png');
    writeFileSync(path, bytes);
    expect(() => readPng(path)).toThrow(new RegExp(`^${path}: .*set GLASSBOX_MAX_IMAGE_PIXELS`));
  });

  it('decodes up to the cap and refuses one pixel more', () => {
    const png = encodePng(createImage(30, 20));
    expect(decodePng(png, { maxPixels: 600 }).width).toBe(30);
    expect(() => decodePng(png, { maxPixels: 599 })).toThrow(/30x20 \(600 pixels\), more than the cap of 599 pixels/);
  });

  it('GLASSBOX_MAX_IMAGE_PIXELS raises or lowers the cap of readPng, and a bad value is named', () => {
    const path = join(dir, 'small.png');
    writeFileSync(path, encodePng(createImage(30, 20)));
    const saved = process.env.GLASSBOX_MAX_IMAGE_PIXELS;
    try {
      process.env.GLASSBOX_MAX_IMAGE_PIXELS = '100';
      expect(() => readPng(path)).toThrow(/cap of 100 pixels/);
      process.env.GLASSBOX_MAX_IMAGE_PIXELS = 'lots';
      expect(() => readPng(path)).toThrow(/GLASSBOX_MAX_IMAGE_PIXELS must be a positive integer, got 'lots'/);
    } finally {
      if (saved === undefined) delete process.env.GLASSBOX_MAX_IMAGE_PIXELS;
      else process.env.GLASSBOX_MAX_IMAGE_PIXELS = saved;
    }
  });

  it('escapes non-printable header bytes in its messages', () => {
    const evil = buildPng([['IHDR', ihdr(2, 2)], [[0x1b, 0x5b, 0x32, 0x00], [1, 2, 3]]]).slice(0, -2); // an ESC[2 NUL chunk, cut short
    const noSignature = Uint8Array.from([0x1b, 0x5b, 0x32, 0x4a, 0, 7, 8, 9, 1, 2, 3, 4]);
    for (const bytes of [evil, noSignature]) {
      let message = '';
      try {
        decodePng(bytes);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/\\x1b\[2/);
      expect(message).not.toMatch(/[\x00-\x1f\x7f]/);
    }
  });
});

/** Valid files of every kind the decoder reads: RGBA, grey, 16-bit, palette with tRNS, interlaced. */
function seeds(): Uint8Array[] {
  const img = createImage(9, 7);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 37) % 256;
  const grey16 = new Uint8Array(5 * (1 + 6 * 2)).map((_, i) => (i % 13 === 0 ? 0 : i * 7));
  const palette = [0, 0b00011011, 0, 0b11100100];
  const adam7 = new Uint8Array(36).map((_, i) => (i * 3) % 5); // every byte a valid filter type, wherever the rows start
  return [
    encodePng(img),
    encodePng(createImage(4, 4, [10, 10, 10])),
    buildPng([['IHDR', ihdr(6, 5, 16, 0)], ['IDAT', deflateSync(grey16)], ['IEND', []]]),
    buildPng([['IHDR', ihdr(4, 2, 2, 3)], ['PLTE', [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]], ['tRNS', [128, 7]], ['IDAT', deflateSync(Uint8Array.from(palette))], ['IEND', []]]),
    buildPng([['IHDR', ihdr(5, 5, 8, 0, 1)], ['IDAT', deflateSync(adam7)], ['IEND', []]]),
  ];
}

const FUZZ_CAP = 1 << 16;

/** Decodes or throws PngError; a decoded image is within the cap and its data matches its size. */
function decodesOrRefuses(bytes: Uint8Array): void {
  let img;
  try {
    img = decodePng(bytes, { maxPixels: FUZZ_CAP });
  } catch (e) {
    if (!(e instanceof PngError)) throw new Error(`not a PngError: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    return;
  }
  expect(img.width * img.height).toBeLessThanOrEqual(FUZZ_CAP);
  expect(img.data.length).toBe(img.width * img.height * 4);
}

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'chunkBody'; chunk: number; at: number; value: number }
  | { kind: 'ihdrField'; field: number; value: number }
  | { kind: 'dropChunk'; chunk: number }
  | { kind: 'duplicateChunk'; chunk: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('chunkBody' as const), chunk: fc.nat(), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('ihdrField' as const), field: fc.integer({ min: 0, max: 12 }), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('dropChunk' as const), chunk: fc.nat() }),
  fc.record({ kind: fc.constant('duplicateChunk' as const), chunk: fc.nat() }),
);

/** Structural mutations rebuild the file with valid CRCs; byte-level ones leave them as they fall. */
function mutate(seed: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let chunks: Chunk[] = splitPng(seed).map(([t, b]) => [t, Array.from(b)]);
  let bytes: Uint8Array | undefined;
  for (const m of ms) {
    if (m.kind === 'chunkBody' || m.kind === 'ihdrField' || m.kind === 'dropChunk' || m.kind === 'duplicateChunk') {
      if (bytes || !chunks.length) continue; // already taken apart byte-wise, or nothing left
      const k = m.kind === 'ihdrField' ? 0 : m.chunk % chunks.length;
      const body = chunks[k]![1] as number[];
      if (m.kind === 'chunkBody' && body.length) body[m.at % body.length] = m.value;
      if (m.kind === 'ihdrField') body[m.field] = m.value;
      if (m.kind === 'dropChunk') chunks = chunks.filter((_, i) => i !== k);
      if (m.kind === 'duplicateChunk') chunks.splice(k, 0, [chunks[k]![0], [...body]]);
    } else {
      bytes ??= buildPng(chunks);
      const at = m.at % (bytes.length + 1);
      if (m.kind === 'flip' && at < bytes.length) bytes[at]! ^= m.xor;
      if (m.kind === 'cut') bytes = bytes.slice(0, at);
      if (m.kind === 'insert') bytes = Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
    }
  }
  return bytes ?? buildPng(chunks);
}

describe('PNG decoder fuzzing', () => {
  const valid = seeds();

  it('the seeds are valid files', () => {
    for (const s of valid) expect(decodePng(s).width).toBeGreaterThan(0);
  });

  it('8,000 mutated files each decode or throw PngError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (s, ms) => decodesOrRefuses(mutate(valid[s]!, ms))),
      { numRuns: 8000, seed: 22 },
    );
  });

  it('2,000 random files (with and without the signature) each decode or throw PngError', () => {
    const signature = [137, 80, 78, 71, 13, 10, 26, 10];
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (signed, body) => decodesOrRefuses(signed ? Uint8Array.from([...signature, ...body]) : body)),
      { numRuns: 1000, seed: 10 },
    );
    // random image data behind a valid IHDR, raw (for the inflater) or compressed (for the filters and the palette)
    const image = fc.record({
      w: fc.integer({ min: 1, max: 300 }),
      h: fc.integer({ min: 1, max: 300 }),
      depth: fc.constantFrom(1, 2, 4, 8, 16),
      type: fc.constantFrom(0, 2, 3, 4, 6),
      interlace: fc.constantFrom(0, 1),
      data: fc.uint8Array({ maxLength: 2000 }).map((d) => d.map((b) => (b < 200 ? b % 5 : b))), // mostly valid filter types
      compress: fc.boolean(),
    });
    fc.assert(
      fc.property(image, ({ w, h, depth, type, interlace, data, compress }) =>
        decodesOrRefuses(buildPng([['IHDR', ihdr(w, h, depth, type, interlace)], ['PLTE', [1, 2, 3, 4, 5, 6]], ['IDAT', compress ? deflateSync(data) : data], ['IEND', []]])),
      ),
      { numRuns: 1000, seed: 11 },
    );
  });
});
