/** Loading an MNIST-style data set (four IDX files) from a folder or the download cache. */
import { DatasetFormatError } from './errors.ts';
import { ensureDownloaded, type RemoteFile } from './download.ts';
import { IDX_MAGIC_IMAGES, IDX_MAGIC_LABELS, parseIdx } from './idx.ts';
import type { SizeCap } from './io.ts';
import { cacheDirFor, downloadAllowed, findLocal, firstExisting, notFound } from './locate.ts';
import { cacheRoot, offlineHint, type DatasetKey } from './paths.ts';
import type { ImageDataset, LoadOptions } from './types.ts';
import { readDataFile, verifyWanted } from './verify.ts';

/** MNIST and Fashion-MNIST images are 28x28; a file of another size is another data set. */
const IMAGE_SIZE = 28;
/** Caps on the uncompressed files (io.ts): the training files are 47,040,016 and 60,008 bytes. */
const IMAGES_CAP: SizeCap = { bytes: 64 * 2 ** 20, why: 'the largest images file of MNIST and Fashion-MNIST (60,000 28x28 images) holds 47,040,016' };
const LABELS_CAP: SizeCap = { bytes: 2 ** 20, why: 'the largest labels file of MNIST and Fashion-MNIST (60,000 labels) holds 60,008' };

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

/** The published checksums of one of the set's files, as verify.ts takes them. */
const knownContent = (file: RemoteFile, name: string) => ({ sha256: file.checksum.sha256, contentSha256: file.checksum.gunzippedSha256, source: `the published ${name} file ${file.filename}` });

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

  // a local copy is checked against the published checksums; downloads into the cache need no
  // second check (ensureDownloaded checks them on every use)
  const cacheDir = local && verifyWanted(opts.verify) ? opts.cacheDir ?? cacheRoot() : undefined;
  const check = (file: RemoteFile) => (cacheDir ? { known: knownContent(file, spec.name), cacheDir } : undefined);
  const [imgBytes, lblBytes] = await Promise.all([readDataFile(imgPath, IMAGES_CAP, check(imgFile)), readDataFile(lblPath, LABELS_CAP, check(lblFile))]);
  const images = parseIdx(imgBytes, imgPath, { magic: IDX_MAGIC_IMAGES, shape: [undefined, IMAGE_SIZE, IMAGE_SIZE] });
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
