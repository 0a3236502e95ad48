/** Loading an MNIST-style data set (four IDX files) from a folder or the download cache. */
import { DatasetFormatError } from './errors.ts';
import { ensureDownloaded, type RemoteFile } from './download.ts';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, parseIdx } from './idx.ts';
import { readMaybeGzipped, sha256Hex } from './io.ts';
import { cacheDirFor, downloadAllowed, findLocal, firstExisting, notFound } from './locate.ts';
import { offlineHint, type DatasetKey } from './paths.ts';
import type { ImageDataset, LoadOptions } from './types.ts';

export interface IdxDatasetSpec {
  key: DatasetKey;
  name: string;
  classes: string[];
  files: { trainImages: RemoteFile; trainLabels: RemoteFile; testImages: RemoteFile; testLabels: RemoteFile };
}

/** Accepted local names of a file: `x-idx3-ubyte.gz`, `x-idx3-ubyte`, and the dotted `x.idx3-ubyte` variant. */
function localNames(gzName: string): string[] {
  const plain = gzName.replace(/\.gz$/, '');
  const dotted = plain.replace(/-(idx\d-ubyte)$/, '.$1');
  return [gzName, plain, `${dotted}.gz`, dotted];
}

async function readChecked(path: string, file: RemoteFile, verify: boolean): Promise<Uint8Array> {
  const bytes = await readMaybeGzipped(path);
  if (verify && file.checksum.gunzippedSha256) {
    const h = sha256Hex(bytes);
    if (h !== file.checksum.gunzippedSha256) {
      throw new DatasetFormatError(path, 'corrupt', `SHA-256 of the uncompressed bytes is ${h}, expected ${file.checksum.gunzippedSha256}`);
    }
  }
  return bytes;
}

export async function loadIdxDataset(spec: IdxDatasetSpec, opts: LoadOptions = {}): Promise<ImageDataset> {
  const split = opts.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new Error(`${spec.name}: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const imgFile = split === 'train' ? spec.files.trainImages : spec.files.testImages;
  const lblFile = split === 'train' ? spec.files.trainLabels : spec.files.testLabels;

  const searched: string[] = [];
  const local = await findLocal<{ img: string; lbl: string }>(spec.key, opts, async (dir) => {
    const img = await firstExisting(dir, localNames(imgFile.filename));
    const lbl = await firstExisting(dir, localNames(lblFile.filename));
    if (img && lbl) return { img, lbl };
    return { missing: [...(img ? [] : [imgFile.filename]), ...(lbl ? [] : [lblFile.filename])] };
  }, searched);

  let imgPath: string;
  let lblPath: string;
  let source: string;
  if (local) {
    ({ img: imgPath, lbl: lblPath } = local.found);
    source = local.dir;
  } else {
    const cache = cacheDirFor(spec.key, opts);
    searched.push(`${cache} (download cache)`);
    if (downloadAllowed(opts)) {
      const dl = { fetch: opts.fetch, progress: opts.progress, hint: offlineHint(spec.key) };
      imgPath = await ensureDownloaded(imgFile, cache, dl);
      lblPath = await ensureDownloaded(lblFile, cache, dl);
    } else {
      const img = await firstExisting(cache, [imgFile.filename]);
      const lbl = await firstExisting(cache, [lblFile.filename]);
      if (!img || !lbl) throw notFound(spec.key, `${imgFile.filename} and ${lblFile.filename}`, searched);
      imgPath = img;
      lblPath = lbl;
    }
    source = cache;
  }

  const verify = opts.verify ?? false;
  const [imgBytes, lblBytes] = await Promise.all([readChecked(imgPath, imgFile, verify), readChecked(lblPath, lblFile, verify)]);
  const images = parseIdx(imgBytes, imgPath, { magic: IDX_MAGIC_IMAGES });
  const labels = parseIdx(lblBytes, lblPath, { magic: IDX_MAGIC_LABELS });
  const [count, height, width] = images.shape as [number, number, number];
  if (labels.shape[0] !== count) {
    throw new DatasetFormatError(lblPath, 'wrong-format', `${labels.shape[0]} labels, but ${imgPath} holds ${count} images`);
  }
  const lbl = labels.data as Uint8Array;
  for (let i = 0; i < lbl.length; i++) {
    if (lbl[i]! >= spec.classes.length) {
      throw new DatasetFormatError(lblPath, 'corrupt', `label ${i} is ${lbl[i]}, classes are 0..${spec.classes.length - 1}`);
    }
  }
  const n = opts.limit === undefined ? count : Math.max(0, Math.min(count, Math.floor(opts.limit)));
  const px = height * width;
  return {
    name: spec.name,
    split,
    // slice(): own, 0-offset buffers that do not pin the whole file in memory.
    images: (images.data as Uint8Array).slice(0, n * px),
    labels: lbl.slice(0, n),
    n,
    channels: 1,
    height,
    width,
    classes: [...spec.classes],
    source,
  };
}
