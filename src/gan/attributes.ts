/**
 * Attributes of a digit (or a garment) measured from its pixels (in the spirit of Morpho-MNIST, Castro et al. 2019),
 * on a 28x28 image with ink > 0.5 (values in [0, 1]; the generator's [-1, 1] maps to it):
 *
 *   thickness  2 * area / boundary: for a stroke of length L and width w, area L w and boundary
 *              pixels (ink with a 4-neighbour outside the ink) about 2 L, so about w when L >> w
 *   slant      the horizontal shift of ink per row upwards, -cov(x, y) / var(y) over ink pixels
 *              weighted by ink (y grows downwards): 0 upright, > 0 leaning right
 *   size       the height of the ink's bounding box in pixels
 *
 * and two for Fashion-MNIST's clothes, where strokes and slant mean little, measured on the item's
 * silhouette (pixel > 0.2: a dark garment's cloth is mostly below the ink level 0.5, but above the
 * background's 0):
 *
 *   width      the width of the silhouette's bounding box in pixels (a sandal against a boot, a
 *              T-shirt's sleeves)
 *   brightness the mean pixel value over the silhouette, in [0, 1] (a black coat against a white one)
 */
export const ATTRIBUTES = ['thickness', 'slant', 'size', 'width', 'brightness'] as const;
export type AttributeName = (typeof ATTRIBUTES)[number];

export function checkAttribute(name: string): AttributeName {
  if (!(ATTRIBUTES as readonly string[]).includes(name)) throw new Error(`glassbox.gan: unknown attribute '${name}'; the known attributes are ${ATTRIBUTES.join(', ')}`);
  return name as AttributeName;
}

const INK = 0.5;
const SILHOUETTE = 0.2;

/** The attributes `gan walk` walks and keeps by default on a data set: strokes for digits, shape and tone for clothes. */
export function defaultAttributes(dataset: string): { attribute: AttributeName; condition: AttributeName } {
  return dataset === 'fashion-mnist' ? { attribute: 'width', condition: 'brightness' } : { attribute: 'thickness', condition: 'size' };
}

/** Each attribute of one image (`pixels`, h x w, values in [0, 1]); NaN for an image without ink. */
export function measureAttributes(pixels: ArrayLike<number>, h: number, w: number): Record<AttributeName, number> {
  let area = 0;
  let boundary = 0;
  let top = h;
  let bottom = -1;
  let m = 0;
  let sx = 0;
  let sy = 0;
  let sxy = 0;
  let syy = 0;
  let left = w;
  let right = -1;
  let silhouette = 0;
  let tone = 0;
  const ink = (y: number, x: number) => y >= 0 && y < h && x >= 0 && x < w && pixels[y * w + x]! > INK;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = pixels[y * w + x]!;
      if (v > SILHOUETTE) {
        silhouette++;
        tone += v;
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
      if (v > INK) {
        area++;
        if (!ink(y - 1, x) || !ink(y + 1, x) || !ink(y, x - 1) || !ink(y, x + 1)) boundary++;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        m += v;
        sx += v * x;
        sy += v * y;
        sxy += v * x * y;
        syy += v * y * y;
      }
    }
  const shape = silhouette ? { width: right - left + 1, brightness: tone / silhouette } : { width: NaN, brightness: NaN };
  if (area === 0) return { thickness: NaN, slant: NaN, size: NaN, ...shape };
  const mx = sx / m;
  const my = sy / m;
  const cov = sxy / m - mx * my;
  const varY = syy / m - my * my;
  return { thickness: (2 * area) / boundary, slant: varY > 0 ? -cov / varY : 0, size: bottom - top + 1, ...shape };
}

/** Attributes of N images [N, 1, h, w] given in [-1, 1]. */
export function measureBatch(values: Float32Array, n: number, h: number, w: number): Record<AttributeName, Float64Array> {
  const out = Object.fromEntries(ATTRIBUTES.map((name) => [name, new Float64Array(n)])) as Record<AttributeName, Float64Array>;
  const unit = new Float32Array(h * w);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < h * w; k++) unit[k] = (values[i * h * w + k]! + 1) / 2;
    const a = measureAttributes(unit, h, w);
    for (const name of ATTRIBUTES) out[name][i] = a[name];
  }
  return out;
}

/** Spearman's rank correlation (average ranks for ties); NaN pairs are dropped. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const keep: number[] = [];
  for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i]!) && Number.isFinite(b[i]!)) keep.push(i);
  const ranks = (v: number[]) => {
    const order = v.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(v.length);
    for (let s = 0; s < order.length; ) {
      let e = s;
      while (e + 1 < order.length && order[e + 1]![0] === order[s]![0]) e++;
      for (let k = s; k <= e; k++) r[order[k]![1]] = (s + e) / 2;
      s = e + 1;
    }
    return r;
  };
  const ra = ranks(keep.map((i) => a[i]!));
  const rb = ranks(keep.map((i) => b[i]!));
  const n = ra.length;
  if (n < 2) return NaN;
  const ma = ra.reduce((s, x) => s + x, 0) / n;
  const mb = rb.reduce((s, x) => s + x, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i]! - ma) * (rb[i]! - mb);
    da += (ra[i]! - ma) ** 2;
    db += (rb[i]! - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : NaN;
}
