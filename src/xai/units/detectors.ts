/**
 * Single units as detectors of concepts (Zhou et al. 2015, "Object detectors emerge in deep scene
 * CNNs"; the seed slides' mixture-of-MNIST study): each image gets the unit's maximum activation
 * over positions as its score, the data set is ranked by it, and the unit is judged as a detector
 * of each concept:
 *  - precision@K: the share of the K top-ranked images that hold the concept (the slides' unit 03
 *    detects digit 0 with 1.00 at K = 100, 300, 500 and 0.99 at 700);
 *  - precision at recall r: the precision at the first rank where the images above it hold a share
 *    r of all images with the concept;
 *  - alignment: the AUC of the score for images with the concept against images without it, the
 *    probability that a random image with the digit outscores a random one without (ties count
 *    half): 0.5 is no relation, 1 a perfect detector; defined only when both groups exist;
 *  - localised precision@K: the share of the top K whose maximum lies inside the concept's box,
 *    which still means something for a concept in every image (the 8 and 9 of the usefulness set).
 * The digit a unit detects is the one with the best mean precision over the K's, among concepts
 * that are absent from some image; a clean detector keeps precision >= 0.9 at every K.
 */

export const PRECISION_KS = [100, 300, 500, 700] as const;
export const RECALLS = [0.25, 0.5, 0.75] as const;
/** A unit is a clean detector when its precision for its digit is at least this at every K. */
export const CLEAN_PRECISION = 0.9;

/** Image indices by score, highest first; ties keep data-set order. */
export function rankImages(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function checkK(k: number, n: number): void {
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new Error(`glassbox.xai.units: K must be an integer from 1 to the ${n} images ranked, got ${k}`);
}

/** The share of the first K ranked images that are hits (`hit[image]` 1 or 0). */
export function precisionAtK(ranking: ArrayLike<number>, hit: ArrayLike<number>, k: number): number {
  checkK(k, ranking.length);
  let hits = 0;
  for (let r = 0; r < k; r++) hits += hit[ranking[r]!] ? 1 : 0;
  return hits / k;
}

/** Precision at every K from 1 to maxK: entry K - 1. */
export function precisionCurve(ranking: ArrayLike<number>, hit: ArrayLike<number>, maxK: number): Float64Array {
  checkK(maxK, ranking.length);
  const out = new Float64Array(maxK);
  let hits = 0;
  for (let r = 0; r < maxK; r++) {
    hits += hit[ranking[r]!] ? 1 : 0;
    out[r] = hits / (r + 1);
  }
  return out;
}

/** Precision at the first rank where recall reaches `recall` (0 < recall <= 1); NaN when there are no hits. */
export function precisionAtRecall(ranking: ArrayLike<number>, hit: ArrayLike<number>, recall: number): number {
  if (!(recall > 0 && recall <= 1)) throw new Error(`glassbox.xai.units: recall must be in (0, 1], got ${recall}`);
  let positives = 0;
  for (let r = 0; r < ranking.length; r++) positives += hit[ranking[r]!] ? 1 : 0;
  if (positives === 0) return NaN;
  const needed = Math.ceil(recall * positives - 1e-9);
  let hits = 0;
  for (let r = 0; r < ranking.length; r++) {
    hits += hit[ranking[r]!] ? 1 : 0;
    if (hits >= needed) return hits / (r + 1);
  }
  return NaN; // unreachable: hits reaches positives
}

/** AUC of `scores` for present (1) against absent (0) images, ties counting half; NaN when either group is empty. */
export function presentAbsentAuc(scores: ArrayLike<number>, present: ArrayLike<number>): number {
  const n = scores.length;
  const order = rankImages(scores).reverse(); // ascending
  let positives = 0;
  let rankSum = 0; // sum of the present images' (1-based, tie-averaged) ranks
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && scores[order[end]!] === scores[order[start]!]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let r = start; r < end; r++)
      if (present[order[r]!]) {
        positives++;
        rankSum += midRank;
      }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface ConceptScores {
  /** Precision at each K of `ks`. */
  precision: number[];
  /** Precision at each recall of `recalls`. */
  precisionAtRecall: number[];
  /** The alignment: AUC of the score, concept present against absent (NaN if it is in every image or none). */
  auc: number;
  /** Localised precision at each K: the top image's maximum inside the concept's box. */
  localPrecision: number[];
}

export interface UnitDetector {
  unit: number;
  /** The concept with the best mean precision over the K's (-1 if no concept is informative or the unit is constant). */
  concept: number;
  /** The concept with the best mean localised precision (any concept, also one in every image; -1 for a constant unit). */
  localConcept: number;
  /** Precision >= CLEAN_PRECISION at every K for `concept`. */
  clean: boolean;
  /** Per concept, in the concept set's order. */
  concepts: ConceptScores[];
}

export interface DetectorInput {
  /** [N * C] per-image maximum of each unit (image-major), from ImageMaxTally. */
  scores: Float32Array;
  /** [N * C] where each maximum is, as y * w + x of the layer's [h, w] map. */
  positions: Int32Array;
  channels: number;
  /** The layer's map size and the image size, to put a position on the image. */
  map: [number, number];
  image: [number, number];
  present: Uint8Array;
  concepts: number;
  boxContains(image: number, concept: number, x: number, y: number): boolean;
}

/** Every unit's scores as a detector of every concept. */
export function unitDetectors(input: DetectorInput, ks: readonly number[] = PRECISION_KS, recalls: readonly number[] = RECALLS): UnitDetector[] {
  const { channels: C, concepts: K } = input;
  const n = input.scores.length / C;
  if (input.present.length !== n * K) throw new Error(`glassbox.xai.units: ${n} images scored but concept presence for ${input.present.length / K}`);
  const hits = Array.from({ length: K }, (_, k) => Uint8Array.from({ length: n }, (_, i) => input.present[i * K + k]!));
  const informative = hits.map((h) => {
    const count = h.reduce((s, v) => s + v, 0);
    return count > 0 && count < n;
  });
  const [h, w] = input.map;
  const [H, W] = input.image;
  const units: UnitDetector[] = [];
  for (let u = 0; u < C; u++) {
    const scores = Float32Array.from({ length: n }, (_, i) => input.scores[i * C + u]!);
    const ranking = rankImages(scores);
    const concepts = hits.map((hit, k) => {
      // the centre of the maximum's cell, in image pixels (the geometry dissection's upsampling uses)
      const local = Uint8Array.from({ length: n }, (_, i) => {
        const p = input.positions[i * C + u]!;
        return input.boxContains(i, k, Math.floor(((p % w) + 0.5) * (W / w)), Math.floor((Math.floor(p / w) + 0.5) * (H / h))) ? 1 : 0;
      });
      return {
        precision: ks.map((k2) => precisionAtK(ranking, hit, k2)),
        precisionAtRecall: recalls.map((r) => precisionAtRecall(ranking, hit, r)),
        auc: presentAbsentAuc(scores, hit),
        localPrecision: ks.map((k2) => precisionAtK(ranking, local, k2)),
      };
    });
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const best = (score: (k: number) => number, allowed: (k: number) => boolean) => {
      let pick = -1;
      for (let k = 0; k < K; k++) if (allowed(k) && (pick < 0 || score(k) > score(pick) || (score(k) === score(pick) && concepts[k]!.auc > concepts[pick]!.auc))) pick = k;
      return pick;
    };
    // a unit whose score is the same on every image (a dead ReLU) ranks images by data-set order: it detects nothing
    const dead = scores.every((v) => v === scores[0]);
    const concept = dead ? -1 : best((k) => mean(concepts[k]!.precision), (k) => informative[k]!);
    const localConcept = dead ? -1 : best((k) => mean(concepts[k]!.localPrecision), () => true);
    units.push({ unit: u, concept, localConcept, clean: concept >= 0 && concepts[concept]!.precision.every((p) => p >= CLEAN_PRECISION), concepts });
  }
  return units;
}

/** Pearson correlation of two equally long lists (NaN entries dropped pairwise); NaN with fewer than 3 pairs. */
export function correlation(a: readonly number[], b: readonly number[]): number {
  const pairs = a.map((v, i) => [v, b[i]!] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pairs.length < 3) return NaN;
  const mx = pairs.reduce((s, [x]) => s + x, 0) / pairs.length;
  const my = pairs.reduce((s, [, y]) => s + y, 0) / pairs.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (const [x, y] of pairs) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
    syy += (y - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
