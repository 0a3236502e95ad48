/**
 * Counter-based random numbers: element i of a call gets hash(seed, offset + i), so results
 * do not depend on thread scheduling and a seed reproduces them on any device. The hash is
 * Chris Wellons' "lowbias32" integer mixer, chained over the key and the counter.
 *
 * Seed and counter reach the kernel as 16-bit halves in f32 uniforms (exact below 2^24),
 * since the elementwise generator passes scalars as f32.
 */
export const RANDOM_HELPERS = `
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u; x *= 0x7feb352du;
  x ^= x >> 15u; x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
fn rand_bits(seedLo: f32, seedHi: f32, ctrLo: f32, ctrHi: f32, i: u32, stream: u32) -> u32 {
  let key = lowbias32(u32(seedLo) | (u32(seedHi) << 16u)) ^ lowbias32(stream + 0x9e3779b9u);
  let ctr = (u32(ctrLo) | (u32(ctrHi) << 16u)) + i;
  return lowbias32(lowbias32(ctr ^ key) + key);
}
// uniform in [0, 1) with 24 random bits
fn rand_uniform(a: f32, b: f32, c: f32, d: f32, i: u32) -> f32 {
  return f32(rand_bits(a, b, c, d, i, 0u) >> 8u) * 5.9604645e-8;
}
// standard normal by Box-Muller from two independent uniforms; u1 in (0, 1] so log is finite
fn rand_normal(a: f32, b: f32, c: f32, d: f32, i: u32) -> f32 {
  let u1 = (f32(rand_bits(a, b, c, d, i, 1u) >> 8u) + 1.0) * 5.9604645e-8;
  let u2 = f32(rand_bits(a, b, c, d, i, 2u) >> 8u) * 5.9604645e-8;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
`;
