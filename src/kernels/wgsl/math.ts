/**
 * NaN-propagating helpers, as PyTorch propagates NaN through relu, max, clamp and pooling.
 * WGSL's max, min and clamp may return the non-NaN operand, and lavapipe's compiler folds
 * x != x to false (measured), so NaN is recognised by its bits: exponent all ones, mantissa not 0.
 */
export const NAN_HELPERS = `
fn is_nan_(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn max_nan_(a: f32, b: f32) -> f32 { return select(select(max(a, b), b, is_nan_(b)), a, is_nan_(a)); }
fn min_nan_(a: f32, b: f32) -> f32 { return select(select(min(a, b), b, is_nan_(b)), a, is_nan_(a)); }
`;

/** WGSL helper functions that elementwise expressions may call (WGSL lacks erf, log1p, ...). */
export const MATH_HELPERS = `${NAN_HELPERS}
fn erf_(x: f32) -> f32 {
  // Abramowitz & Stegun 7.1.26, |error| < 1.5e-7
  let t = 1.0 / (1.0 + 0.3275911 * abs(x));
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-x * x);
  return select(-y, y, x >= 0.0);
}
fn log1p_(x: f32) -> f32 {
  let u = 1.0 + x;
  if (u == 1.0) { return x; }
  return log(u) * x / (u - 1.0);
}
fn expm1_(x: f32) -> f32 {
  if (abs(x) < 1e-5) { return x + 0.5 * x * x; }
  return exp(x) - 1.0;
}
fn tanh_(x: f32) -> f32 { return select(tanh(clamp(x, -15.0, 15.0)), x, is_nan_(x)); }
fn sigmoid_(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }
// pow with a real exponent: WGSL pow is undefined for negative bases, so integer exponents keep the sign.
fn pow_(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (e == 1.0) { return x; }
  if (e == 2.0) { return x * x; }
  let m = pow(abs(x), e);
  if (x < 0.0 && floor(e) == e) { return select(m, -m, (i32(e) & 1) == 1); }
  return select(m, pow(x, e), x >= 0.0);
}
`;
