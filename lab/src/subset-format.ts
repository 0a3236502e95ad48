/**
 * The lab's MNIST subset file: TRAIN training images, then TEST test images (28x28 bytes each,
 * 0 = background, 255 = ink, MNIST's own order), then their labels (one byte each). Written by
 * lab/make-subset.ts at build time, read by the page. Plain bytes: 1,200 images are 0.94 MB,
 * served as they are (no decoder to ship).
 */
export const SUBSET = { train: 1000, test: 200, side: 28 } as const;

const PIXELS = SUBSET.side * SUBSET.side;

export interface Subset {
  train: { images: Uint8Array; labels: Uint8Array; n: number };
  test: { images: Uint8Array; labels: Uint8Array; n: number };
}

export function encodeSubset(trainImages: Uint8Array, trainLabels: Uint8Array, testImages: Uint8Array, testLabels: Uint8Array): Uint8Array {
  const { train, test } = SUBSET;
  if (trainImages.length < train * PIXELS || testImages.length < test * PIXELS || trainLabels.length < train || testLabels.length < test)
    throw new Error(`lab subset: need ${train} training and ${test} test 28x28 images with labels, got ${trainLabels.length} and ${testLabels.length}`);
  const out = new Uint8Array((train + test) * (PIXELS + 1));
  out.set(trainImages.subarray(0, train * PIXELS), 0);
  out.set(testImages.subarray(0, test * PIXELS), train * PIXELS);
  out.set(trainLabels.subarray(0, train), (train + test) * PIXELS);
  out.set(testLabels.subarray(0, test), (train + test) * PIXELS + train);
  return out;
}

export function decodeSubset(bytes: Uint8Array): Subset {
  const { train, test } = SUBSET;
  const expected = (train + test) * (PIXELS + 1);
  if (bytes.length !== expected) throw new Error(`lab: the MNIST subset file has ${bytes.length} bytes, expected ${expected}; rebuild it with npm run build:lab`);
  const labels = (train + test) * PIXELS;
  return {
    train: { images: bytes.subarray(0, train * PIXELS), labels: bytes.subarray(labels, labels + train), n: train },
    test: { images: bytes.subarray(train * PIXELS, labels), labels: bytes.subarray(labels + train, labels + train + test), n: test },
  };
}
