/**
 * Data-set layer tests. They use the offline copies of MNIST and CIFAR-10 (1,000 test images)
 * that the loaders find first: ../shared/datasets, or the folder GLASSBOX_DATA or
 * GLASSBOX_MNIST_DIR / GLASSBOX_CIFAR10_DIR names (a clone outside that layout), and Debian's
 * dataset-fashion-mnist package (apt-get install -y dataset-fashion-mnist); the Fashion-MNIST tests
 * are skipped, with a note, where that package is missing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CIFAR10_ARCHIVE, ChecksumError, DatasetFormatError, DatasetNotFoundError, DEBIAN_FASHION_MNIST_DIR, DownloadError,
  MNIST_FILES, classToPair, encodeIdx, ensureDownloaded, extractCifarArchive, generateMnistMixture, loadCifar10,
  loadDataset, loadFashionMnist, loadMnist, numPairClasses, pairToClass, parseIdx, readIdxFile, readTar, Rng,
  type ImageDataset, type MixtureDataset,
} from '../datasets/index.ts';
import { localCandidates } from '../datasets/paths.ts';

// the folder the loaders read by default, so d.source can be checked and its files copied
const MNIST_DIR = localCandidates('mnist', undefined, existsSync)[0]!.dir;
const CIFAR_ROOT = localCandidates('cifar10', undefined, existsSync)[0]!.dir;
const CIFAR_DIR = existsSync(join(CIFAR_ROOT, 'cifar-10-batches-bin')) ? join(CIFAR_ROOT, 'cifar-10-batches-bin') : CIFAR_ROOT;
const HAVE_FASHION = existsSync(join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const HAVE_TAR = (() => { try { execFileSync('tar', ['--version'], { stdio: 'ignore' }); return true; } catch { return false; } })();
// reading a whole data set takes a few seconds on an idle machine and 30 s or more beside a training run
const SLOW = 120_000;

let tmp: string;
let mnistTrain: ImageDataset;
let mnistTest: ImageDataset;

function counts(labels: Uint8Array, k = 10): number[] {
  const c = new Array<number>(k).fill(0);
  for (const l of labels) c[l]!++;
  return c;
}

/** Byte equality of two typed arrays (vitest's toEqual is far too slow on millions of elements). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function mean(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!;
  return s / bytes.length;
}

/** Run `fn` with some environment variables set, then restore them. */
/** Download tests must not find a local copy through the caller's environment (a clone run with GLASSBOX_DATA set). */
const NO_LOCAL_COPIES = { GLASSBOX_DATA: undefined, GLASSBOX_MNIST_DIR: undefined, GLASSBOX_CIFAR10_DIR: undefined, GLASSBOX_FASHION_MNIST_DIR: undefined };

async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }
}

/** A fetch that serves files from a folder by the URL's last path segment, 404 otherwise; records the URLs asked. */
function folderFetch(dir: string, asked: string[]): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    asked.push(url);
    const name = url.split('/').pop()!;
    if (!existsSync(join(dir, name))) return new Response('not found', { status: 404, statusText: 'Not Found' });
    const body = await readFile(join(dir, name));
    return new Response(body, { status: 200, headers: { 'content-length': String(body.length) } });
  }) as typeof fetch;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'glassbox-datasets-'));
  [mnistTrain, mnistTest] = await Promise.all([loadMnist({ split: 'train' }), loadMnist({ split: 'test' })]);
}, SLOW);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('MNIST', () => {
  it('train: 60000 x 1x28x28, known labels, pixel mean, class counts', () => {
    const d = mnistTrain;
    expect([d.name, d.split, d.n, d.channels, d.height, d.width]).toEqual(['mnist', 'train', 60000, 1, 28, 28]);
    expect(d.images.length).toBe(60000 * 784);
    expect(d.labels.length).toBe(60000);
    expect(d.images.byteOffset).toBe(0);
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(mean(d.images)).toBeCloseTo(33.3184, 3);
    expect(counts(d.labels)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(d.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(d.source).toBe(MNIST_DIR);
  });

  it('test: 10000 images, known labels, pixel mean', () => {
    const d = mnistTest;
    expect([d.split, d.n, d.images.length]).toEqual(['test', 10000, 10000 * 784]);
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    expect(mean(d.images)).toBeCloseTo(33.7912, 3);
    expect(counts(d.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it('limit keeps the first images; verify checks the uncompressed SHA-256', async () => {
    const d = await loadMnist({ split: 'test', limit: 7, verify: true });
    expect(d.n).toBe(7);
    expect(sameBytes(d.images, mnistTest.images.subarray(0, 7 * 784))).toBe(true);
    expect(Array.from(d.labels)).toEqual([7, 2, 1, 0, 4, 1, 4]);
  });

  it('GLASSBOX_MNIST_DIR and GLASSBOX_DATA are honoured; a named folder without files is an error', async () => {
    const root = join(tmp, 'data-root');
    await mkdir(join(root, 'mnist'), { recursive: true });
    // Uncompressed files in the GLASSBOX_DATA/mnist folder.
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      await writeFile(join(root, 'mnist', f), gunzipSync(await readFile(join(MNIST_DIR, `${f}.gz`))));
    }
    const d = await withEnv({ GLASSBOX_DATA: root, GLASSBOX_MNIST_DIR: undefined }, () => loadMnist({ split: 'test', limit: 3 }));
    expect(d.source).toBe(join(root, 'mnist'));
    expect(Array.from(d.labels)).toEqual([7, 2, 1]);
    // The per-data-set variable wins over GLASSBOX_DATA.
    const d2 = await withEnv({ GLASSBOX_DATA: root, GLASSBOX_MNIST_DIR: MNIST_DIR }, () => loadMnist({ split: 'test', limit: 3 }));
    expect(d2.source).toBe(MNIST_DIR);
    // Named folder lacking the train files: error naming the variable and the files, no silent fallback.
    const err = await withEnv({ GLASSBOX_MNIST_DIR: join(root, 'mnist') }, () => loadMnist({ split: 'train' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect(String(err)).toMatch(/GLASSBOX_MNIST_DIR/);
    expect(String(err)).toMatch(/train-images-idx3-ubyte\.gz/);
  });
});

describe('Fashion-MNIST (Debian package dataset-fashion-mnist)', () => {
  it.skipIf(!HAVE_FASHION)('train 60000 and test 10000, 28x28, balanced classes, uncompressed SHA-256 verified', async () => {
    const [train, test] = await Promise.all([loadFashionMnist({ split: 'train', verify: true }), loadFashionMnist({ split: 'test', verify: true })]);
    expect([train.name, train.n, train.channels, train.height, train.width]).toEqual(['fashion-mnist', 60000, 1, 28, 28]);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(counts(train.labels)).toEqual(new Array(10).fill(6000));
    expect(test.n).toBe(10000);
    expect(counts(test.labels)).toEqual(new Array(10).fill(1000));
    expect(train.classes[9]).toBe('Ankle boot');
    expect(train.source).toBe(DEBIAN_FASHION_MNIST_DIR);
  }, SLOW);
  if (!HAVE_FASHION) it('(skipped above: apt-get install -y dataset-fashion-mnist)', () => {});
});

describe('CIFAR-10', () => {
  it('train: 50000 x 3x32x32, 5000 per class, known first labels and pixels, channel means', async () => {
    const d = await loadCifar10({ split: 'train' });
    expect([d.name, d.n, d.channels, d.height, d.width]).toEqual(['cifar10', 50000, 3, 32, 32]);
    expect(d.images.length).toBe(50000 * 3072);
    expect(counts(d.labels)).toEqual(new Array(10).fill(5000));
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    // First image (frog): red plane, top row.
    expect(Array.from(d.images.subarray(0, 10))).toEqual([59, 43, 50, 68, 98, 119, 139, 145, 149, 149]);
    expect(d.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    // Per-channel means over a 5000-image sample (NCHW: plane c of image i at i*3072 + c*1024).
    const sums = [0, 0, 0];
    for (let i = 0; i < 50000; i += 10) for (let c = 0; c < 3; c++) sums[c]! += mean(d.images.subarray(i * 3072 + c * 1024, i * 3072 + (c + 1) * 1024));
    const means = sums.map((s) => s / 5000 / 255);
    expect(means[0]).toBeCloseTo(0.4914, 2);
    expect(means[1]).toBeCloseTo(0.4822, 2);
    expect(means[2]).toBeCloseTo(0.4465, 2);
  }, SLOW);

  it('test: the local copy holds 1000 records, read to end of file', async () => {
    const d = await loadCifar10({ split: 'test' });
    expect(d.n).toBe(1000);
    expect(Array.from(d.labels.subarray(0, 10))).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
    expect(counts(d.labels)).toEqual([103, 89, 100, 103, 90, 86, 112, 102, 106, 109]);
    const lim = await loadCifar10({ split: 'train', limit: 12 });
    expect(lim.n).toBe(12);
    expect(Array.from(lim.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
  });

  it('a batch whose size is not a multiple of 3073 bytes, or with a bad label, is an error naming the file', async () => {
    const dir = join(tmp, 'cifar-bad');
    await mkdir(dir, { recursive: true });
    const good = gunzipSync(await readFile(join(CIFAR_DIR, 'test_batch.bin.gz')));
    await writeFile(join(dir, 'test_batch.bin'), good.subarray(0, 3073 * 5 + 100));
    // verify: false reaches the parser (the checksum check would refuse these files first)
    const err = await loadCifar10({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as DatasetFormatError).problem).toBe('truncated');
    expect(String(err)).toContain(join(dir, 'test_batch.bin'));
    expect(String(err)).toMatch(/not a whole number of 3073-byte/);
    const bad = Buffer.from(good.subarray(0, 3073 * 3));
    bad[3073] = 42;
    await writeFile(join(dir, 'test_batch.bin'), bad);
    const err2 = await loadCifar10({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect((err2 as DatasetFormatError).problem).toBe('corrupt');
    expect(String(err2)).toMatch(/record 1 .* label 42/);
  });

  it.skipIf(!HAVE_TAR)('reads cifar-10-binary.tar.gz (tar reader); a download with the wrong MD5 is rejected', async () => {
    // A small archive laid out like the real one: 20 train records per batch, the 1000 local test records.
    const build = join(tmp, 'cifar-build');
    const bd = join(build, 'cifar-10-batches-bin');
    await mkdir(bd, { recursive: true });
    // (The first 100 records of data_batch_1, cut into five batches, to keep the test fast.)
    const first = gunzipSync(await readFile(join(CIFAR_DIR, 'data_batch_1.bin.gz')));
    for (let b = 1; b <= 5; b++) await writeFile(join(bd, `data_batch_${b}.bin`), first.subarray((b - 1) * 20 * 3073, b * 20 * 3073));
    await writeFile(join(bd, 'test_batch.bin'), gunzipSync(await readFile(join(CIFAR_DIR, 'test_batch.bin.gz'))));
    await writeFile(join(bd, 'batches.meta.txt'), await readFile(join(CIFAR_DIR, 'batches.meta.txt')));
    const srcDir = join(tmp, 'cifar-src');
    await mkdir(srcDir, { recursive: true });
    const tgz = join(srcDir, 'cifar-10-binary.tar.gz');
    execFileSync('tar', ['-czf', tgz, '-C', build, 'cifar-10-batches-bin']);

    const entries = readTar(gunzipSync(await readFile(tgz)), tgz);
    expect(entries.filter((e) => e.type === 'file').map((e) => e.name).sort()).toEqual([
      'cifar-10-batches-bin/batches.meta.txt', 'cifar-10-batches-bin/data_batch_1.bin', 'cifar-10-batches-bin/data_batch_2.bin',
      'cifar-10-batches-bin/data_batch_3.bin', 'cifar-10-batches-bin/data_batch_4.bin', 'cifar-10-batches-bin/data_batch_5.bin',
      'cifar-10-batches-bin/test_batch.bin',
    ]);
    const tarBytes = gunzipSync(await readFile(tgz));
    expect(() => readTar(tarBytes.subarray(0, 1000), tgz)).toThrow(DatasetFormatError);

    // A folder holding just the tarball (verify: false: it is not the real one, whose MD5 is checked).
    const train = await loadCifar10({ split: 'train', dir: srcDir, verify: false });
    expect(train.n).toBe(100);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([6, 9, 9, 4, 1, 1, 2, 7, 8, 3]);
    await expect(loadCifar10({ split: 'train', dir: srcDir, cacheDir: join(tmp, 'cifar-verified') })).rejects.toThrow(/MD5 c32a1d4ab5d03f1284b67883e8d87530 \(as distributed\)/);
    const test = await loadCifar10({ split: 'test', dir: srcDir, verify: false });
    expect(test.n).toBe(1000);

    // The download path: the served archive is not the real one, so the authors' MD5 must reject it.
    const cacheDir = join(tmp, 'cifar-cache');
    const asked: string[] = [];
    const err = await withEnv(NO_LOCAL_COPIES, () => loadCifar10({ split: 'test', searchDefaults: false, cacheDir, fetch: folderFetch(srcDir, asked), progress: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    expect(asked).toEqual(CIFAR10_ARCHIVE.urls);
    expect(String(err)).toContain('c32a1d4ab5d03f1284b67883e8d87530');
    expect(String(err)).toContain('GLASSBOX_CIFAR10_DIR');
    expect(await readdir(join(cacheDir, 'cifar10'))).toEqual([]); // nothing half-written left behind

    // With a checksum that matches, the same archive is downloaded and extracted into the cache.
    const md5 = createHash('md5').update(await readFile(tgz)).digest('hex');
    const path = await ensureDownloaded({ ...CIFAR10_ARCHIVE, urls: [pathToFileURL(tgz).href], checksum: { md5 } }, join(cacheDir, 'cifar10'), { progress: false });
    await extractCifarArchive(path, join(cacheDir, 'cifar10', 'cifar-10-batches-bin'));
    const cached = await withEnv(NO_LOCAL_COPIES, () => loadCifar10({ split: 'train', searchDefaults: false, cacheDir, download: false }));
    expect(cached.n).toBe(100);
    expect(cached.source).toBe(join(cacheDir, 'cifar10', 'cifar-10-batches-bin'));
  }, SLOW);
});

describe('IDX parsing errors', () => {
  const images = encodeIdx(new Uint8Array(3 * 4 * 5).map((_, i) => i), [3, 4, 5]);
  const labels = encodeIdx(new Uint8Array([1, 2, 3]), [3]);

  it('parses a valid file and checks the magic', () => {
    const a = parseIdx(images, 'x.idx', { magic: 0x803 });
    expect(a.shape).toEqual([3, 4, 5]);
    expect(a.dtype).toBe('uint8');
    expect(a.data[59]).toBe(59);
    const f = parseIdx(encodeIdx(new Float32Array([1.5, -2]), [2]), 'f.idx');
    expect(Array.from(f.data)).toEqual([1.5, -2]);
  });

  it('truncated, trailing bytes, wrong magic, not IDX: named errors', async () => {
    const cases: [string, Uint8Array, string, RegExp][] = [
      ['truncated.idx', images.subarray(0, images.length - 7), 'truncated', /only 69 bytes/],
      ['header-cut.idx', images.subarray(0, 9), 'truncated', /header/],
      ['empty.idx', new Uint8Array(0), 'truncated', /empty/],
      ['long.idx', new Uint8Array([...images, 0, 0]), 'corrupt', /2 extra bytes/],
      ['labels-as-images.idx', labels, 'wrong-format', /expected IDX magic 0x00000803.*found 0x00000801/],
      ['text.idx', new TextEncoder().encode('hello world, not idx'), 'wrong-format', /not an IDX file/],
      ['badtype.idx', new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]), 'wrong-format', /unknown data-type byte 0x42/],
    ];
    for (const [name, bytes, problem, re] of cases) {
      const file = join(tmp, name);
      await writeFile(file, bytes);
      const err = await readIdxFile(file, { magic: 0x803 }).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(DatasetFormatError);
      expect((err as DatasetFormatError).problem, name).toBe(problem);
      expect((err as Error).message, name).toContain(file);
      expect((err as Error).message, name).toMatch(re);
    }
  });

  it('truncated and corrupt gzip files', async () => {
    const gz = gzipSync(images);
    const cut = join(tmp, 'cut.idx.gz');
    await writeFile(cut, gz.subarray(0, gz.length - 12));
    const e1 = await readIdxFile(cut).catch((e: unknown) => e);
    expect((e1 as DatasetFormatError).problem).toBe('truncated');
    expect(String(e1)).toContain(cut);
    const flipped = Buffer.from(gz);
    flipped[flipped.length - 6] ^= 0xff; // the stored CRC32
    const bad = join(tmp, 'crc.idx.gz');
    await writeFile(bad, flipped);
    const e2 = await readIdxFile(bad).catch((e: unknown) => e);
    expect((e2 as DatasetFormatError).problem).toBe('corrupt');
    expect(String(e2)).toContain(bad);
  });

  it('a loader pointed at a truncated MNIST file says which file is truncated', async () => {
    const dir = join(tmp, 'mnist-truncated');
    await mkdir(dir, { recursive: true });
    const raw = gunzipSync(await readFile(join(MNIST_DIR, 't10k-images-idx3-ubyte.gz')));
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), raw.subarray(0, 16 + 784 * 100 + 3));
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), await readFile(join(MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    const err = await loadMnist({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as DatasetFormatError).file).toBe(join(dir, 't10k-images-idx3-ubyte'));
    expect((err as DatasetFormatError).problem).toBe('truncated');
    // A labels file with the images' name: wrong format.
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), gunzipSync(await readFile(join(MNIST_DIR, 't10k-labels-idx1-ubyte.gz'))));
    const err2 = await loadMnist({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect((err2 as DatasetFormatError).problem).toBe('wrong-format');
  });
});

describe('local copies are checked against the known checksums (verify.ts), and capped in size', () => {
  /** A folder with MNIST's test labels and `images` as the test images. */
  async function mnistWith(name: string, images: Uint8Array): Promise<string> {
    const dir = join(tmp, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 't10k-images-idx3-ubyte'), images);
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), await readFile(join(MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    return dir;
  }
  const realImages = async () => gunzipSync(await readFile(join(MNIST_DIR, 't10k-images-idx3-ubyte.gz')));
  /** The real test images with their pixels replaced by noise: a valid header, so only the checksum can tell. */
  async function noise(): Promise<Uint8Array> {
    const bytes = await realImages();
    const rng = new Rng(7);
    for (let i = 16; i < bytes.length; i++) bytes[i] = rng.nextU32() & 0xff;
    return bytes;
  }

  it('noise with a valid header is refused, naming the file, the hashes and how to skip; verify: false or GLASSBOX_VERIFY_DATA=0 skips', async () => {
    const dir = await mnistWith('mnist-noise', await noise());
    const cacheDir = join(tmp, 'verify-cache-noise');
    const err = await loadMnist({ split: 'test', dir, cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetFormatError);
    expect((err as DatasetFormatError).file).toBe(join(dir, 't10k-images-idx3-ubyte'));
    expect(String(err)).toContain(`expected SHA-256 ${MNIST_FILES.testImages.checksum.sha256} (as distributed) or SHA-256 ${MNIST_FILES.testImages.checksum.gunzippedSha256} (uncompressed)`);
    expect(String(err)).toContain('GLASSBOX_VERIFY_DATA=0');
    expect((await loadMnist({ split: 'test', dir, cacheDir, verify: false })).n).toBe(10000);
    expect((await withEnv({ GLASSBOX_VERIFY_DATA: '0' }, () => loadMnist({ split: 'test', dir, cacheDir }))).n).toBe(10000);
  });

  it('a match is remembered by path, size and mtime in the cache folder, not the data folder; a changed file is checked again', async () => {
    const dir = await mnistWith('mnist-remembered', await realImages());
    const images = join(dir, 't10k-images-idx3-ubyte');
    const then = new Date('2026-01-01T00:00:00Z');
    await utimes(images, then, then);
    const cacheDir = join(tmp, 'verify-cache-remembered');
    expect((await loadMnist({ split: 'test', dir, cacheDir })).n).toBe(10000);
    const registry = JSON.parse(await readFile(join(cacheDir, 'verified-files.json'), 'utf8'));
    expect(Object.keys(registry).sort()).toEqual([join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte.gz')]);
    expect((await readdir(dir)).sort()).toEqual(['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte.gz']);
    // what is remembered is trusted: a different file with the same size and mtime is not hashed again
    const { size } = await stat(images);
    await writeFile(images, await noise());
    await utimes(images, then, then);
    expect((await stat(images)).size).toBe(size);
    expect((await loadMnist({ split: 'test', dir, cacheDir })).n).toBe(10000);
    // touched (as any edit does): checked again, and refused
    await utimes(images, new Date(), new Date());
    await expect(loadMnist({ split: 'test', dir, cacheDir })).rejects.toThrow(/SHA-256 of the file is [0-9a-f]{64}; expected/);
  });

  it('the shared copies pass, the partial CIFAR-10 test set included; a longer test batch with that prefix passes, a flipped byte does not', async () => {
    const cacheDir = join(tmp, 'verify-cache-shared');
    expect((await loadMnist({ split: 'test', cacheDir })).n).toBe(10000);
    expect((await loadCifar10({ split: 'test', cacheDir })).n).toBe(1000);
    const partial = gunzipSync(await readFile(join(CIFAR_DIR, 'test_batch.bin.gz')));
    const dir = join(tmp, 'cifar-longer');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'test_batch.bin'), Buffer.concat([partial, partial.subarray(0, 3073)])); // record 1001
    expect((await loadCifar10({ split: 'test', dir, cacheDir })).n).toBe(1001);
    const flipped = Buffer.from(partial);
    flipped[3073 * 500 + 7] ^= 1;
    await writeFile(join(dir, 'test_batch.bin'), flipped);
    const err = await loadCifar10({ split: 'test', dir, cacheDir }).catch((e: unknown) => e);
    expect((err as DatasetFormatError).file).toBe(join(dir, 'test_batch.bin'));
    expect(String(err)).toMatch(/of the first 3073000 uncompressed bytes \(a known partial copy\)/);
  });

  it('an image size other than 28x28 is refused, naming the file', async () => {
    const dir = await mnistWith('mnist-32px', encodeIdx(new Uint8Array(10000 * 32 * 32), [10000, 32, 32]));
    const err = await loadMnist({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect((err as DatasetFormatError).file).toBe(join(dir, 't10k-images-idx3-ubyte'));
    expect(String(err)).toMatch(/dimension 1 is 32, expected 28/);
  });

  it('a small .gz that inflates past what the data set can use stops at the cap, naming it and GLASSBOX_MAX_INFLATED_MB', async () => {
    // 65 MiB of zeros in 65 KB: more than MNIST's 64 MiB cap for an images file (the largest real one is 47 MB)
    const bomb = gzipSync(Buffer.alloc(65 * 2 ** 20));
    const dir = join(tmp, 'mnist-bomb');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 't10k-images-idx3-ubyte.gz'), bomb);
    await writeFile(join(dir, 't10k-labels-idx1-ubyte.gz'), await readFile(join(MNIST_DIR, 't10k-labels-idx1-ubyte.gz')));
    const err = await loadMnist({ split: 'test', dir, verify: false }).catch((e: unknown) => e);
    expect((err as DatasetFormatError).file).toBe(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(String(err)).toMatch(/gzip data inflates to more than 67108864 bytes \(64 MiB\), the cap for this file: .*47,040,016.*GLASSBOX_MAX_INFLATED_MB=<MiB>/);
    // the variable lowers (or raises) every cap: the real labels (10 KB) pass 1 MiB, the real images (7.8 MB) do not
    const real = await mnistWith('mnist-capped', await realImages());
    await expect(withEnv({ GLASSBOX_MAX_INFLATED_MB: '1' }, () => loadMnist({ split: 'test', dir: real, verify: false }))).rejects.toThrow(/the file holds 7840016 bytes, more than 1048576 bytes \(1 MiB\), the cap for this file: set by GLASSBOX_MAX_INFLATED_MB/);
  });
});

describe('download', () => {
  const labels = MNIST_FILES.testLabels;
  const srcUrl = pathToFileURL(join(MNIST_DIR, labels.filename)).href;

  it('downloads (file: URL) with the embedded SHA-256, atomically', async () => {
    const dir = join(tmp, 'dl-ok');
    const path = await ensureDownloaded({ ...labels, urls: [srcUrl] }, dir, { progress: false });
    expect(path).toBe(join(dir, labels.filename));
    expect(await readFile(path)).toEqual(await readFile(join(MNIST_DIR, labels.filename)));
    expect(await readdir(dir)).toEqual([labels.filename]);
    // Cached: no fetch needed (an unreachable mirror list proves it).
    expect(await ensureDownloaded({ ...labels, urls: ['http://invalid.invalid/x'] }, dir, { progress: false })).toBe(path);
  });

  it('detects a checksum mismatch, names URL, file and env var, leaves nothing behind', async () => {
    const bad = join(tmp, 'tampered', labels.filename);
    await mkdir(join(tmp, 'tampered'), { recursive: true });
    const raw = gunzipSync(await readFile(join(MNIST_DIR, labels.filename)));
    raw[100] = (raw[100]! + 1) % 10;
    await writeFile(bad, gzipSync(raw));
    const dir = join(tmp, 'dl-bad');
    const url = pathToFileURL(bad).href;
    const err = await ensureDownloaded({ ...labels, urls: [url] }, dir, { progress: false, hint: 'set GLASSBOX_MNIST_DIR' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChecksumError);
    const msg = String(err);
    expect(msg).toContain(url);
    expect(msg).toContain(join(dir, labels.filename));
    expect(msg).toContain('GLASSBOX_MNIST_DIR');
    expect(msg).toMatch(/SHA-256 [0-9a-f]{64}, expected f7ae60f9/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('falls back to the next mirror; accepts a re-compressed file whose gunzipped SHA-256 matches', async () => {
    const regz = join(tmp, 'regz');
    await mkdir(regz, { recursive: true });
    await writeFile(join(regz, labels.filename), gzipSync(gunzipSync(await readFile(join(MNIST_DIR, labels.filename))), { level: 1 }));
    const asked: string[] = [];
    const fetch404 = folderFetch(join(tmp, 'nothing-here'), asked);
    const dir = join(tmp, 'dl-mirror');
    const path = await ensureDownloaded({ ...labels, urls: ['https://mirror-a.example/t10k-labels-idx1-ubyte.gz', pathToFileURL(join(regz, labels.filename)).href] }, dir, { fetch: fetch404, progress: false });
    expect(asked).toEqual(['https://mirror-a.example/t10k-labels-idx1-ubyte.gz']);
    expect(parseIdx(gunzipSync(await readFile(path))).shape).toEqual([10000]);
    // All mirrors failing (HTTP 404): DownloadError listing each URL.
    const err = await ensureDownloaded(labels, join(tmp, 'dl-404'), { fetch: fetch404, progress: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect(err).not.toBeInstanceOf(ChecksumError);
    for (const u of labels.urls) expect(String(err)).toContain(`${u}: HTTP 404`);
  });

  it('loadMnist downloads the real mirror URLs into the cache (mocked fetch), and GLASSBOX_OFFLINE stops it', async () => {
    const cacheDir = join(tmp, 'cache');
    const asked: string[] = [];
    const d = await withEnv(NO_LOCAL_COPIES, () => loadMnist({ split: 'test', searchDefaults: false, cacheDir, fetch: folderFetch(MNIST_DIR, asked), progress: false }));
    expect(asked).toEqual([MNIST_FILES.testImages.urls[0], MNIST_FILES.testLabels.urls[0]]);
    expect(asked[0]).toBe('https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz');
    expect(d.n).toBe(10000);
    expect(sameBytes(d.images, mnistTest.images)).toBe(true);
    expect(d.source).toBe(join(cacheDir, 'mnist'));
    // GLASSBOX_CACHE picks the cache folder; offline with an empty cache: a clear error.
    const err = await withEnv({ ...NO_LOCAL_COPIES, GLASSBOX_OFFLINE: '1', GLASSBOX_CACHE: join(tmp, 'empty-cache') }, () => loadMnist({ split: 'train', searchDefaults: false })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect(String(err)).toContain(join(tmp, 'empty-cache', 'mnist'));
    expect(String(err)).toMatch(/GLASSBOX_MNIST_DIR/);
  }, SLOW);
});

describe('mixture-of-MNIST', () => {
  it('pair <-> class formula roundtrips (45 and 28 classes)', () => {
    for (const m of [10, 8]) {
      const seen = new Set<number>();
      for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) {
        if (a === b) continue;
        const k = pairToClass(a, b, m);
        expect(k).toBe(pairToClass(b, a, m));
        expect(classToPair(k, m)).toEqual([Math.min(a, b), Math.max(a, b)]);
        seen.add(k);
      }
      expect(seen.size).toBe(numPairClasses(m));
      expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: numPairClasses(m) }, (_, i) => i));
    }
    expect(pairToClass(0, 1)).toBe(0);
    expect(pairToClass(1, 2)).toBe(9);
    expect(pairToClass(8, 9)).toBe(44);
    expect(() => pairToClass(3, 3)).toThrow(RangeError);
    expect(() => classToPair(45)).toThrow(RangeError);
  });

  it('Rng is deterministic and roughly uniform', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const xa = Array.from({ length: 5 }, () => a.nextU32());
    expect(xa).toEqual(Array.from({ length: 5 }, () => b.nextU32()));
    expect(xa).not.toEqual(Array.from({ length: 5 }, () => c.nextU32()));
    const h = new Array<number>(10).fill(0);
    for (let i = 0; i < 10000; i++) h[a.int(10)]!++;
    for (const x of h) expect(Math.abs(x - 1000)).toBeLessThan(150);
  });

  /** Checks shared by both variants. */
  function checkMixture(d: MixtureDataset, source: ImageDataset, m: number): void {
    const C = d.width, HW = C * C;
    expect(d.images.length).toBe(d.n * HW);
    expect(d.masks.length).toBe(d.n * d.slots * HW);
    expect(d.classes.length).toBe(numPairClasses(m));
    const seen = new Set<number>();
    for (let i = 0; i < d.n; i++) {
      seen.add(d.labels[i]!);
      const [a, b] = classToPair(d.labels[i]!, m);
      expect([d.digits[i * d.slots], d.digits[i * d.slots + 1]]).toEqual([a, b]);
      const composite = new Uint8Array(HW);
      for (let s = 0; s < d.slots; s++) {
        const k = i * d.slots + s;
        const idx = d.sourceIndex[k]!;
        expect(source.labels[idx]).toBe(d.digits[k]); // the slot's digit really is that MNIST image
        const [x0, y0, x1, y1] = Array.from(d.boxes.subarray(k * 4, k * 4 + 4)) as [number, number, number, number];
        expect(x1).toBeGreaterThan(x0);
        expect(y1).toBeGreaterThan(y0);
        const px = d.positions[k * 2]!, py = d.positions[k * 2 + 1]!;
        let on = 0;
        for (let y = 0; y < C; y++) for (let x = 0; x < C; x++) {
          const mk = d.masks[k * HW + y * C + x]!;
          const inPatch = x >= px && x < px + 28 && y >= py && y < py + 28;
          const v = inPatch ? source.images[idx * 784 + (y - py) * 28 + (x - px)]! : 0;
          // mask = the source digit's own pixels, in canvas coordinates
          if (mk !== (v > d.maskThreshold ? 1 : 0)) throw new Error(`image ${i} slot ${s}: mask wrong at (${x},${y})`);
          if (mk) {
            on++;
            if (x < x0 || x >= x1 || y < y0 || y >= y1) throw new Error(`image ${i} slot ${s}: mask pixel (${x},${y}) outside box`);
          }
          if (v > composite[y * C + x]!) composite[y * C + x] = v;
        }
        expect(on).toBeGreaterThan(0);
        // The box is tight: each edge touches the mask.
        let touches = 0;
        for (let x = x0; x < x1; x++) touches += d.masks[k * HW + y0 * C + x]!;
        expect(touches).toBeGreaterThan(0);
      }
      if (!sameBytes(d.images.subarray(i * HW, (i + 1) * HW), composite)) throw new Error(`image ${i}: not the max of its digits`); // combined by max
    }
    expect(seen.size).toBe(numPairClasses(m)); // all pairs appear
  }

  it('pairs: 56x56, 45 classes all present, masks inside boxes, deterministic per seed', () => {
    const d = generateMnistMixture(mnistTrain, { split: 'train', n: 450, seed: 1 });
    expect([d.name, d.variant, d.slots, d.width, d.height, d.sourceSplit]).toEqual(['mnist-mixture', 'pairs', 2, 56, 56, 'train']);
    checkMixture(d, mnistTrain, 10);
    expect(counts(d.labels, 45)).toEqual(new Array(45).fill(10)); // balanced
    const again = generateMnistMixture(mnistTrain, { split: 'train', n: 450, seed: 1 });
    expect(sameBytes(again.images, d.images)).toBe(true);
    expect(sameBytes(again.masks, d.masks)).toBe(true);
    expect(sameBytes(again.labels, d.labels)).toBe(true);
    const other = generateMnistMixture(mnistTrain, { split: 'train', n: 450, seed: 2 });
    expect(sameBytes(other.images, d.images)).toBe(false);
    // Slight overlap at most: ink boxes overlap by <= 10 % of the smaller one.
    for (let i = 0; i < d.n; i++) {
      const b = d.boxes.subarray(i * 8, i * 8 + 8);
      const ox = Math.min(b[2]!, b[6]!) - Math.max(b[0]!, b[4]!);
      const oy = Math.min(b[3]!, b[7]!) - Math.max(b[1]!, b[5]!);
      const inter = ox > 0 && oy > 0 ? ox * oy : 0;
      const minArea = Math.min((b[2]! - b[0]!) * (b[3]! - b[1]!), (b[6]! - b[4]!) * (b[7]! - b[5]!));
      expect(inter).toBeLessThanOrEqual(0.1 * minArea + 1e-9);
    }
  });

  it('train draws from MNIST train, validation/test from disjoint halves of MNIST test; mixing splits is refused', () => {
    const val = generateMnistMixture(mnistTest, { split: 'validation', n: 300, seed: 1 });
    const test = generateMnistMixture(mnistTest, { split: 'test', n: 300, seed: 1 });
    expect(val.sourceSplit).toBe('test');
    expect(test.sourceSplit).toBe('test');
    expect(Math.max(...val.sourceIndex)).toBeLessThan(5000);
    expect(Math.min(...test.sourceIndex)).toBeGreaterThanOrEqual(5000);
    checkMixture(test, mnistTest, 10);
    expect(() => generateMnistMixture(mnistTest, { split: 'train', n: 10 })).toThrow(/leakage/);
    expect(() => generateMnistMixture(mnistTrain, { split: 'test', n: 10 })).toThrow(/leakage/);
  });

  it('default size is 20,000 training images', () => {
    const d = generateMnistMixture(mnistTrain, { masks: false });
    expect(d.n).toBe(20000);
    expect(d.masks.length).toBe(0);
    expect(Math.min(...counts(d.labels, 45))).toBeGreaterThanOrEqual(444);
  });

  it('usefulness: 64x64, 28 classes from digits 0..7, plus an 8 and a 9 in every image, 4 masks', () => {
    const d = generateMnistMixture(mnistTrain, { split: 'train', variant: 'usefulness', n: 280, seed: 3 });
    expect([d.name, d.slots, d.width, d.height]).toEqual(['mnist-mixture-usefulness', 4, 64, 64]);
    checkMixture(d, mnistTrain, 8);
    for (let i = 0; i < d.n; i++) {
      const [a, b, e, n] = Array.from(d.digits.subarray(i * 4, i * 4 + 4));
      expect(a!).toBeLessThan(b!);
      expect(b!).toBeLessThan(8);
      expect([e, n]).toEqual([8, 9]);
      expect(d.labels[i]).toBe(pairToClass(a!, b!, 8));
      // The four digits sit in four different 32x32 cells: masks never overlap.
      for (let p = 0; p < 64 * 64; p++) {
        let c = 0;
        for (let s = 0; s < 4; s++) c += d.masks[(i * 4 + s) * 4096 + p]!;
        if (c > 1) throw new Error(`image ${i}: masks overlap at pixel ${p}`);
      }
    }
  });
});

describe('loadDataset', () => {
  it('loads every name', async () => {
    expect((await loadDataset('mnist', { split: 'test', limit: 5 })).n).toBe(5);
    expect((await loadDataset('cifar10', { split: 'test', limit: 5 })).channels).toBe(3);
    const mix = await loadDataset('mnist-mixture', { split: 'validation', n: 90, seed: 4 });
    expect([mix.name, mix.n, mix.sourceSplit]).toEqual(['mnist-mixture', 90, 'test']);
    const use = await loadDataset('mnist-mixture-usefulness', { n: 28, mnist: mnistTrain });
    expect([use.name, use.classes.length, use.slots]).toEqual(['mnist-mixture-usefulness', 28, 4]);
    if (HAVE_FASHION) expect((await loadDataset('fashion-mnist', { split: 'test', limit: 5 })).name).toBe('fashion-mnist');
    await expect(loadDataset('imagenet' as 'mnist')).rejects.toThrow(/unknown data set/);
  }, SLOW);
});
