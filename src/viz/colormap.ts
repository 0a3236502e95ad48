/**
 * Colormaps as 256-entry lookup tables, generated from compact definitions:
 *
 * - 'viridis', 'inferno' (sequential, perceptually uniform; van der Walt & Smith for
 *   matplotlib): degree-6 polynomial fits per sRGB channel by Matt Zucker, "fitting polynomials
 *   to matplotlib colormaps", https://www.shadertoy.com/view/WlfXRN (CC0), fitted to the tables
 *   in https://github.com/BIDS/colormap (CC0) to minimise the maximum error (within about 6/255
 *   of the original 256-entry tables).
 * - 'coolwarm' (diverging): K. Moreland, "Diverging Color Maps for Scientific Visualization"
 *   (ISVC 2009): blue (59,76,192) to red (180,4,38) interpolated in the Msh space (polar
 *   CIELAB), through a neutral white-grey at the midpoint.
 * - 'gray': black to white.
 */

export type ColormapName = 'viridis' | 'inferno' | 'coolwarm' | 'gray';

/** Horner coefficients c0..c6 per channel: colour(t) = c0 + t*(c1 + t*(c2 + ...)). */
const POLY: Record<'viridis' | 'inferno', readonly (readonly number[])[]> = {
  viridis: [
    [0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486, 6.228269936347081, 4.776384997670288, -5.435455855934631],
    [0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585, 14.17993336680509, -13.74514537774601, 4.645852612178535],
    [0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987, 56.69055260068105, -65.35303263337234, 26.3124352495832],
  ],
  inferno: [
    [0.0002189403691192265, 0.1065134194856116, 11.60249308247187, -41.70399613139459, 77.162935699427, -71.31942824499214, 25.13112622477341],
    [0.001651004631001012, 0.5639564367884091, -3.972853965665698, 17.43639888205313, -33.40235894210092, 32.62606426397723, -12.24266895238567],
    [-0.01948089843709184, 3.932712388889277, -15.9423941062914, 44.35414519872813, -81.80730925738993, 73.20951985803202, -23.07032500287172],
  ],
};

const tables = new Map<ColormapName, Uint8Array>();

/** The 256 x RGB lookup table of a colormap (cached; do not modify). */
export function colormapTable(name: ColormapName): Uint8Array {
  let t = tables.get(name);
  if (t) return t;
  t = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const rgb = colormapContinuous(name, i / 255);
    for (let k = 0; k < 3; k++) t[i * 3 + k] = Math.round(Math.min(1, Math.max(0, rgb[k]!)) * 255);
  }
  tables.set(name, t);
  return t;
}

/** The colormap at t in [0,1], as sRGB components in [0,1] (from the definition, not the table). */
export function colormapContinuous(name: ColormapName, t: number): [number, number, number] {
  t = Math.min(1, Math.max(0, t));
  switch (name) {
    case 'viridis':
    case 'inferno':
      return POLY[name].map((c) => c.reduceRight((acc, ck) => acc * t + ck, 0)) as [number, number, number];
    case 'coolwarm':
      return coolwarm(t);
    case 'gray':
      return [t, t, t];
  }
}

/** The table colour at t in [0,1], components 0..255. */
export function colorAt(name: ColormapName, t: number): [number, number, number] {
  const i = Math.round(Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t)) * 255) * 3;
  const tab = colormapTable(name);
  return [tab[i]!, tab[i + 1]!, tab[i + 2]!];
}

export interface ColormapOptions {
  cmap?: ColormapName;
  /** Value shown at the low end (default: the minimum of the values). */
  vmin?: number;
  /** Value shown at the high end (default: the maximum). */
  vmax?: number;
  /** Alpha of every pixel, 0..255 (default 255); NaN values are always fully transparent. */
  alpha?: number;
}

/** Maps values to RGBA bytes (length 4 * values.length), clipping to [vmin, vmax]. */
export function applyColormap(values: ArrayLike<number>, opts: ColormapOptions = {}): Uint8Array {
  const tab = colormapTable(opts.cmap ?? 'viridis');
  let { vmin, vmax } = opts;
  if (vmin === undefined || vmax === undefined) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    vmin ??= lo === Infinity ? 0 : lo;
    vmax ??= hi === -Infinity ? 1 : hi;
  }
  const span = vmax - vmin;
  const alpha = opts.alpha ?? 255;
  const out = new Uint8Array(values.length * 4);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) continue; // transparent black
    const t = span > 0 ? (v - vmin) / span : 0.5;
    const j = Math.round(Math.min(1, Math.max(0, t)) * 255) * 3;
    out[i * 4] = tab[j]!;
    out[i * 4 + 1] = tab[j + 1]!;
    out[i * 4 + 2] = tab[j + 2]!;
    out[i * 4 + 3] = alpha;
  }
  return out;
}

// ---- Colour spaces: sRGB <-> CIELAB (D65) <-> Msh ----

const WHITE_D65 = [0.95047, 1.0, 1.08883];

function toLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}
function fromLinear(c: number): number {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055;
}

/** sRGB components in [0,1] to CIELAB [L*, a*, b*] (D65 white). */
export function srgbToLab(rgb: readonly number[]): [number, number, number] {
  const [r, g, b] = rgb.map(toLinear) as [number, number, number];
  const xyz = [
    0.4124564 * r + 0.3575761 * g + 0.1804375 * b,
    0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    0.0193339 * r + 0.119192 * g + 0.9503041 * b,
  ];
  const f = (t: number): number => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const [fx, fy, fz] = xyz.map((v, i) => f(v / WHITE_D65[i]!)) as [number, number, number];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** CIELAB (D65) to sRGB components in [0,1] (unclipped). */
export function labToSrgb(lab: readonly number[]): [number, number, number] {
  const [L, a, b] = lab as [number, number, number];
  const fy = (L + 16) / 116;
  const fInv = (t: number): number => (t ** 3 > 216 / 24389 ? t ** 3 : (116 * t - 16) / (24389 / 27));
  const [x, y, z] = [fInv(fy + a / 500), fInv(fy), fInv(fy - b / 200)].map((v, i) => v * WHITE_D65[i]!) as [number, number, number];
  const lin = [
    3.2404542 * x - 1.5371385 * y - 0.4985314 * z,
    -0.969266 * x + 1.8760108 * y + 0.041556 * z,
    0.0556434 * x - 0.2040259 * y + 1.0572252 * z,
  ];
  return lin.map(fromLinear) as [number, number, number];
}

function labToMsh([L, a, b]: readonly number[]): [number, number, number] {
  const M = Math.hypot(L!, a!, b!);
  return [M, M > 0 ? Math.acos(L! / M) : 0, Math.atan2(b!, a!)];
}

function mshToLab([M, s, h]: readonly number[]): [number, number, number] {
  return [M! * Math.cos(s!), M! * Math.sin(s!) * Math.cos(h!), M! * Math.sin(s!) * Math.sin(h!)];
}

/** Moreland's hue adjustment: the hue to use for an unsaturated end next to a saturated colour. */
function adjustHue([M, s, h]: readonly number[], mUnsat: number): number {
  if (M! >= mUnsat) return h!;
  const spin = (s! * Math.sqrt(mUnsat * mUnsat - M! * M!)) / (M! * Math.sin(s!));
  return h! > -Math.PI / 3 ? h! + spin : h! - spin;
}

const COOL = labToMsh(srgbToLab([59 / 255, 76 / 255, 192 / 255]));
const WARM = labToMsh(srgbToLab([180 / 255, 4 / 255, 38 / 255]));

/** Moreland's diverging interpolation between COOL and WARM (sec. 4 of the paper). */
function coolwarm(t: number): [number, number, number] {
  let a = COOL;
  let b = WARM;
  // The ends are saturated and far apart in hue: pass through an unsaturated white midpoint.
  const mid = Math.max(a[0], b[0], 88);
  if (t < 0.5) {
    b = [mid, 0, 0];
    t = 2 * t;
  } else {
    a = [mid, 0, 0];
    t = 2 * t - 1;
  }
  if (a[1] < 0.05 && b[1] > 0.05) a = [a[0], a[1], adjustHue(b, a[0])];
  else if (b[1] < 0.05 && a[1] > 0.05) b = [b[0], b[1], adjustHue(a, b[0])];
  const msh = [0, 1, 2].map((k) => (1 - t) * a[k]! + t * b[k]!);
  return labToSrgb(mshToLab(msh));
}
