// PLACEHOLDER (to be replaced by the tuned generator): naive one-output-per-invocation matmul.
import { UniformWriter } from './common.ts';
export interface MatmulProblem { batch: number; M: number; N: number; K: number; transA: boolean; transB: boolean; batchStrideA: number; batchStrideB: number }
export interface KernelLaunch { name: string; source: string; entryPoint: string; workgroups: [number, number, number]; uniforms: ArrayBuffer }
export type MatmulTarget = 'cpu-simd' | 'gpu';
export function planMatmul(p: MatmulProblem, _t: MatmulTarget): KernelLaunch {
  const a = p.transA ? 'a[ba + k * p.M + row]' : 'a[ba + row * p.K + k]';
  const b = p.transB ? 'b[bb + col * p.K + k]' : 'b[bb + k * p.N + col]';
  const source = `struct P { M: u32, N: u32, K: u32, sa: u32, sb: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let row = g.y; let col = g.x; let z = g.z;
  if (row >= p.M || col >= p.N) { return; }
  let ba = z * p.sa; let bb = z * p.sb;
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) { acc += ${a} * ${b}; }
  c[z * p.M * p.N + row * p.N + col] = acc;
}`;
  return { name: 'matmul_naive', source, entryPoint: 'main', workgroups: [Math.ceil(p.N / 8), Math.ceil(p.M / 8), p.batch], uniforms: new UniformWriter().u32(p.M).u32(p.N).u32(p.K).u32(p.batchStrideA).u32(p.batchStrideB).finish() };
}
