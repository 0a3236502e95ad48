/**
 * Downloading data-set files into the cache, with checksum verification.
 *
 * - Cache folder: GLASSBOX_CACHE (default ~/.cache/glassbox/datasets, see paths.ts),
 *   one subfolder per data set.
 * - Every mirror URL of a file is tried in order; http(s) goes through fetch
 *   (injectable), file: URLs are read from disk (local mirrors, tests).
 * - The bytes are streamed to a temp file next to the destination while being
 *   hashed, then checked, then renamed into place (atomic: a reader never sees
 *   a half-written file; a failed download leaves nothing behind).
 * - What is checked, see FileChecksum: SHA-256 (or MD5) of the file exactly as
 *   downloaded (the .gz / .tar.gz bytes). For gzipped files there may also be a
 *   SHA-256 of the gunzipped bytes: a file whose compressed bytes differ (a
 *   mirror that re-compressed it) is accepted if its uncompressed bytes match.
 * - Files of 1 MiB or more print a progress line on stderr.
 * - A file already in the cache is re-checked before use; a bad one is deleted
 *   and fetched again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChecksumError, DownloadError } from './errors.ts';
import { fileExists, gunzipBytes, sha256Hex, tempPathFor } from './io.ts';

export interface FileChecksum {
  /** SHA-256 (hex) of the file exactly as downloaded. */
  sha256?: string;
  /** MD5 (hex) of the file as downloaded, where that is the only published checksum. */
  md5?: string;
  /** SHA-256 (hex) of the gunzipped contents (accepted when the file-level hashes differ). */
  gunzippedSha256?: string;
}

export interface RemoteFile {
  /** File name in the cache folder. */
  filename: string;
  /** Mirrors, tried in order. */
  urls: string[];
  checksum: FileChecksum;
  /** Expected size in bytes, for the progress line when the server sends no Content-Length. */
  size?: number;
}

export interface DownloadOptions {
  /** fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
  /** Print a progress line on stderr for files >= 1 MiB (default true). */
  progress?: boolean;
  /** Appended to error messages: how to use a local copy instead (names the env vars). */
  hint?: string;
  /** Abort a download when no bytes arrive for this long (default 60 s). */
  idleTimeoutMs?: number;
}

const PROGRESS_MIN_BYTES = 1 << 20;

interface Digest { sha256: string; md5: string }

/** Check a file's digests against `checksum`. Returns null if fine, else a description of the mismatch. */
async function checkDigest(path: string, digest: Digest, checksum: FileChecksum): Promise<string | null> {
  const problems: string[] = [];
  if (checksum.sha256 && checksum.sha256.toLowerCase() !== digest.sha256) problems.push(`SHA-256 ${digest.sha256}, expected ${checksum.sha256}`);
  if (checksum.md5 && checksum.md5.toLowerCase() !== digest.md5) problems.push(`MD5 ${digest.md5}, expected ${checksum.md5}`);
  const fileLevelGiven = Boolean(checksum.sha256 || checksum.md5);
  if (fileLevelGiven && problems.length === 0) return null;
  if (checksum.gunzippedSha256) {
    try {
      const raw = await gunzipBytes(new Uint8Array(await readFile(path)), path);
      const h = sha256Hex(raw);
      if (h === checksum.gunzippedSha256.toLowerCase()) return null;
      problems.push(`SHA-256 of the gunzipped bytes ${h}, expected ${checksum.gunzippedSha256}`);
    } catch (e) {
      problems.push(`cannot gunzip to check the uncompressed SHA-256 (${(e as Error).message})`);
    }
  }
  if (!fileLevelGiven && !checksum.gunzippedSha256) return null; // nothing to check against
  return `checksum mismatch: ${problems.join('; ')}`;
}

async function digestFile(path: string): Promise<Digest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(path)) {
    sha.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

function fmtMB(n: number): string {
  return (n / 1e6).toFixed(1);
}

class Progress {
  private last = 0;
  private lastDecile = -1;
  private lastLine = '';
  private readonly tty = Boolean(process.stderr.isTTY);
  constructor(private readonly label: string, private readonly total: number | undefined, private readonly enabled: boolean) {}
  update(done: number, final = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    const pct = this.total ? Math.min(100, (100 * done) / this.total) : undefined;
    const line = `glassbox: downloading ${this.label} ${pct === undefined ? '' : pct.toFixed(0).padStart(3) + '% '}${fmtMB(done)}${this.total ? '/' + fmtMB(this.total) : ''} MB`;
    if (this.tty) {
      if (final || now - this.last > 200) {
        process.stderr.write(`\r${line}\x1b[K${final ? '\n' : ''}`);
        this.last = now;
      }
    } else {
      // Not a terminal (CI logs): one line per 10 %, or every 5 s without a known size.
      const decile = pct === undefined ? Math.floor(now / 5000) : Math.floor(pct / 10);
      if ((final || decile !== this.lastDecile) && line !== this.lastLine) {
        process.stderr.write(line + '\n');
        this.lastDecile = decile;
        this.lastLine = line;
      }
    }
  }
}

/** Stream one URL into `tmp`; returns the digests. Throws an Error describing the failure. */
async function fetchTo(url: string, tmp: string, file: RemoteFile, opts: DownloadOptions): Promise<Digest> {
  const sha = createHash('sha256');
  const md5 = createHash('md5');
  const fh = await open(tmp, 'w');
  let done = 0;
  try {
    if (url.startsWith('file:')) {
      const src = fileURLToPath(url);
      const size = (await stat(src)).size;
      const progress = new Progress(file.filename, size, (opts.progress ?? true) && size >= PROGRESS_MIN_BYTES);
      for await (const chunk of createReadStream(src)) {
        const c = chunk as Buffer;
        sha.update(c); md5.update(c);
        await fh.write(c);
        done += c.length;
        progress.update(done);
      }
      progress.update(done, true);
    } else {
      const fetchImpl = opts.fetch ?? globalThis.fetch;
      const ctrl = new AbortController();
      const idleMs = opts.idleTimeoutMs ?? 60_000;
      let timer = setTimeout(() => ctrl.abort(), idleMs);
      try {
        const res = await fetchImpl(url, { redirect: 'follow', signal: ctrl.signal });
        if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
        if (!res.body) throw new Error('empty response body');
        const len = Number(res.headers.get('content-length'));
        const total = Number.isFinite(len) && len > 0 ? len : file.size;
        const progress = new Progress(file.filename, total, (opts.progress ?? true) && (total ?? PROGRESS_MIN_BYTES) >= PROGRESS_MIN_BYTES);
        const reader = res.body.getReader();
        for (;;) {
          const { done: end, value } = await reader.read();
          if (end) break;
          clearTimeout(timer);
          timer = setTimeout(() => ctrl.abort(), idleMs);
          sha.update(value); md5.update(value);
          await fh.write(value);
          done += value.length;
          progress.update(done);
        }
        progress.update(done, true);
      } catch (e) {
        if (ctrl.signal.aborted) throw new Error(`no data for ${idleMs / 1000} s, gave up (${done} bytes received)`);
        throw e;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await fh.close();
  }
  return { sha256: sha.digest('hex'), md5: md5.digest('hex') };
}

/**
 * Make sure `file` is in folder `dir` with the right checksum, downloading it
 * if needed. Returns its path.
 */
export async function ensureDownloaded(file: RemoteFile, dir: string, opts: DownloadOptions = {}): Promise<string> {
  const dest = join(dir, file.filename);
  if (await fileExists(dest)) {
    const problem = await checkDigest(dest, await digestFile(dest), file.checksum);
    if (problem === null) return dest;
    process.stderr.write(`glassbox: cached ${dest} is bad (${problem}); downloading it again\n`);
    await rm(dest, { force: true });
  }
  await mkdir(dir, { recursive: true });
  const failures: string[] = [];
  let checksumFailed = false;
  for (const url of file.urls) {
    const tmp = tempPathFor(dest);
    try {
      const digest = await fetchTo(url, tmp, file, opts);
      const problem = await checkDigest(tmp, digest, file.checksum);
      if (problem !== null) {
        checksumFailed = true;
        throw new Error(problem);
      }
      await rename(tmp, dest);
      return dest;
    } catch (e) {
      failures.push(`${url}: ${(e as Error).message}`);
      await rm(tmp, { force: true });
    }
  }
  const msg = `could not download ${basename(dest)} to ${dest}; tried ${file.urls.length} mirror(s):\n  ` +
    failures.join('\n  ') + (opts.hint ? `\n${opts.hint}` : '');
  throw checksumFailed ? new ChecksumError(msg, file.urls, dest) : new DownloadError(msg, file.urls, dest);
}

// ---------------------------------------------------------------------------
// Catalogue of remote files and their checksums.
//
// How the checksums were obtained (all computed here from real bytes):
// - MNIST: SHA-256 of the four .gz files in ../shared/datasets/mnist, which are
//   byte-identical to the original distribution (their MD5s are torchvision's:
//   f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...; their SHA-256s equal
//   nixpkgs' pins). gunzippedSha256 = SHA-256 of `gunzip -c` of the same files.
// - Fashion-MNIST: Debian's .gz files carry a rewritten gzip header. We put back
//   the original header (FLG=0x08 with the stored name, mtime 1504176606 for
//   train-*, 1504176627 for t10k-*, XFL 0, OS 3) in front of Debian's unchanged
//   deflate data; the four rebuilt files have exactly torchvision's MD5s
//   (8d4fb7e6c68d591d4c3dfef9ec88bf0d, 25c81989df183df01b3e8a0aad5dffbe,
//   bef4ecab320f06d8554ea6380940ec79, bb300cfdad3c16e7a12a480ee83cd310), so
//   they are Zalando's original files; `sha256` is theirs. gunzippedSha256 is
//   of the uncompressed IDX bytes (the same for Debian's files).
// - CIFAR-10: NO SHA-256 COULD BE COMPUTED: only a rebuilt copy of the batches
//   exists here (and only 1,000 test images), not the original tarball. The
//   tarball is checked against the MD5 that the data set's authors publish on
//   https://www.cs.toronto.edu/~kriz/cifar.html for the binary version
//   (c32a1d4ab5d03f1284b67883e8d87530, 170052171 bytes). After extraction every
//   batch is also checked for its size (10000 records of 3073 bytes).
// ---------------------------------------------------------------------------

const MNIST_MIRRORS = ['https://ossci-datasets.s3.amazonaws.com/mnist/', 'http://yann.lecun.com/exdb/mnist/'];

function mnistFile(filename: string, sha256: string, gunzippedSha256: string, size: number): RemoteFile {
  return { filename, urls: MNIST_MIRRORS.map((m) => m + filename), checksum: { sha256, gunzippedSha256 }, size };
}

export const MNIST_FILES = {
  trainImages: mnistFile('train-images-idx3-ubyte.gz',
    '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db', 9912422),
  trainLabels: mnistFile('train-labels-idx1-ubyte.gz',
    '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5', 28881),
  testImages: mnistFile('t10k-images-idx3-ubyte.gz',
    '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7', 1648877),
  testLabels: mnistFile('t10k-labels-idx1-ubyte.gz',
    'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
    'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2', 4542),
} as const satisfies Record<string, RemoteFile>;

const FASHION_MIRRORS = [
  'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
];

function fashionFile(filename: string, sha256: string, gunzippedSha256: string, size: number): RemoteFile {
  return { filename, urls: FASHION_MIRRORS.map((m) => m + filename), checksum: { sha256, gunzippedSha256 }, size };
}

export const FASHION_MNIST_FILES = {
  trainImages: fashionFile('train-images-idx3-ubyte.gz',
    '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
    'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888', 26421880),
  trainLabels: fashionFile('train-labels-idx1-ubyte.gz',
    'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
    'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9', 29515),
  testImages: fashionFile('t10k-images-idx3-ubyte.gz',
    '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
    '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b', 4422102),
  testLabels: fashionFile('t10k-labels-idx1-ubyte.gz',
    '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
    '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34', 5148),
} as const satisfies Record<string, RemoteFile>;

export const CIFAR10_ARCHIVE: RemoteFile = {
  filename: 'cifar-10-binary.tar.gz',
  urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
  // MD5 published by the authors; no SHA-256 could be computed from real bytes here (see above).
  checksum: { md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
  size: 170052171,
};
