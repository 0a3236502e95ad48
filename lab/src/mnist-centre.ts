/**
 * A drawing made into an MNIST digit the way MNIST's were (LeCun et al., "The MNIST database"): the
 * ink's bounding box is scaled, keeping its aspect ratio, so its longer side is 20 pixels (by area
 * averaging, which gives MNIST's grey anti-aliased edges), and placed in a 28x28 image so that its
 * centre of mass lands on the image's centre. Pure: the page and the tests share it.
 */
export const MNIST_SIDE = 28;
const BOX = 20;

/** `ink` [h*w] in [0, 1] (0 = background) -> [28*28] in [0, 1]; all zeros when there is no ink. */
export function mnistCentre(ink: ArrayLike<number>, w: number, h: number): Float32Array {
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  let [x0, y0, x1, y1] = [w, h, -1, -1];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (ink[y * w + x]! > 0.02) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  if (x1 < 0) return out;
  const [bw, bh] = [x1 - x0 + 1, y1 - y0 + 1];
  const scale = BOX / Math.max(bw, bh); // target pixels per source pixel
  const [tw, th] = [Math.max(1, Math.round(bw * scale)), Math.max(1, Math.round(bh * scale))];
  // area averaging: every source pixel adds to the target pixel it falls in
  const sum = new Float64Array(tw * th);
  const count = new Float64Array(tw * th);
  for (let y = y0; y <= y1; y++) {
    const ty = Math.min(th - 1, Math.floor((y - y0) * scale));
    for (let x = x0; x <= x1; x++) {
      const t = ty * tw + Math.min(tw - 1, Math.floor((x - x0) * scale));
      sum[t]! += ink[y * w + x]!;
      count[t]! += 1;
    }
  }
  let [mass, mx, my] = [0, 0, 0];
  const box = new Float64Array(tw * th);
  for (let i = 0; i < box.length; i++) {
    const v = count[i]! > 0 ? sum[i]! / count[i]! : 0;
    box[i] = v;
    mass += v;
    mx += v * (i % tw);
    my += v * Math.floor(i / tw);
  }
  // top-left corner that puts the centre of mass (pixel centres at +0.5) on the image centre (14, 14)
  const ox = Math.round(MNIST_SIDE / 2 - (mx / mass + 0.5));
  const oy = Math.round(MNIST_SIDE / 2 - (my / mass + 0.5));
  for (let y = 0; y < th; y++)
    for (let x = 0; x < tw; x++) {
      const [X, Y] = [x + ox, y + oy];
      if (X >= 0 && X < MNIST_SIDE && Y >= 0 && Y < MNIST_SIDE) out[Y * MNIST_SIDE + X] = Math.min(1, box[y * tw + x]!);
    }
  return out;
}
