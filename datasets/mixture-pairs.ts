/**
 * Mixture-of-MNIST's classes: unordered pairs of distinct digits, numbered in lexicographic order.
 * No I/O here, so code that runs in a browser (the lab, the unit-ablation study) can import it.
 */
/** Number of unordered pairs of distinct digits from 0..m-1: m(m-1)/2 (45 for m = 10, 28 for m = 8). */
export function numPairClasses(m = 10): number {
  return (m * (m - 1)) / 2;
}

/**
 * Class index of the unordered pair {a, b}, a != b, digits in 0..m-1.
 * With lo = min(a,b), hi = max(a,b): k = lo*(2m - lo - 1)/2 + (hi - lo - 1),
 * i.e. pairs in lexicographic order: {0,1}=0, {0,2}=1, ..., {0,9}=8, {1,2}=9, ..., {8,9}=44.
 */
export function pairToClass(a: number, b: number, m = 10): number {
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= m || b >= m || a === b) {
    throw new RangeError(`pairToClass: need two different integers in 0..${m - 1}, got ${a} and ${b}`);
  }
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return (lo * (2 * m - lo - 1)) / 2 + (hi - lo - 1);
}

/** Inverse of pairToClass: class k -> [lo, hi] with lo < hi. */
export function classToPair(k: number, m = 10): [number, number] {
  if (!Number.isInteger(k) || k < 0 || k >= numPairClasses(m)) {
    throw new RangeError(`classToPair: class must be an integer in 0..${numPairClasses(m) - 1}, got ${k}`);
  }
  let rest = k;
  for (let lo = 0; lo < m - 1; lo++) {
    const count = m - 1 - lo;
    if (rest < count) return [lo, lo + 1 + rest];
    rest -= count;
  }
  throw new Error('unreachable');
}

/** Class names "{a,b}" in class order. */
export function pairClassNames(m = 10): string[] {
  return Array.from({ length: numPairClasses(m) }, (_, k) => {
    const [a, b] = classToPair(k, m);
    return `{${a},${b}}`;
  });
}
