/**
 * Concepts with pixel masks, as dissection and the detector scores see them: for each image, which
 * concepts it holds, each one's mask on the image's pixels, and its box. On mixture-of-MNIST the
 * concepts are the ten digits (`digitConcepts`), whose masks the data set draws while pasting
 * (datasets/mixture-mnist.ts: a digit's own pixels above the mask threshold).
 */
import type { MixtureDataset } from '../../../datasets/mixture-mnist.ts';

export interface ConceptSet {
  names: string[];
  /** Images, and their height and width (the masks' size). */
  images: number;
  height: number;
  width: number;
  /** [N * K]: 1 where concept k appears in image i (at i * K + k). */
  present: Uint8Array;
  /** The masks (H * W, 0/1) of the concepts image i holds; at most one entry per concept. */
  masks(image: number): { concept: number; mask: Uint8Array }[];
  /** Whether pixel (x, y) lies in the box of concept k in image i (false when i lacks k). */
  boxContains(image: number, concept: number, x: number, y: number): boolean;
}

/** The ten digits of a mixture-of-MNIST data set as concepts (the data set must carry its masks). */
export function digitConcepts(data: MixtureDataset): ConceptSet {
  const { n, slots, height: H, width: W } = data;
  if (data.masks.length !== n * slots * H * W)
    throw new Error(`glassbox.xai.units: the ${data.name} ${data.split} set has no digit masks (${data.masks.length} mask bytes for ${n} images); load it with masks: true`);
  const K = 10;
  const present = new Uint8Array(n * K);
  for (let i = 0; i < n; i++)
    for (let s = 0; s < slots; s++) {
      const d = data.digits[i * slots + s]!;
      if (present[i * K + d]) throw new Error(`glassbox.xai.units: image ${i} of ${data.name} holds digit ${d} twice; digit concepts need distinct digits per image`);
      present[i * K + d] = 1;
    }
  const slotOf = (i: number, k: number) => {
    for (let s = 0; s < slots; s++) if (data.digits[i * slots + s] === k) return s;
    return -1;
  };
  return {
    names: Array.from({ length: K }, (_, d) => String(d)),
    images: n,
    height: H,
    width: W,
    present,
    masks: (i) =>
      Array.from({ length: slots }, (_, s) => ({ concept: data.digits[i * slots + s]!, mask: data.masks.subarray((i * slots + s) * H * W, (i * slots + s + 1) * H * W) })),
    boxContains: (i, k, x, y) => {
      const s = slotOf(i, k);
      if (s < 0) return false;
      const b = (i * slots + s) * 4;
      return x >= data.boxes[b]! && y >= data.boxes[b + 1]! && x < data.boxes[b + 2]! && y < data.boxes[b + 3]!;
    },
  };
}
