/**
 * Writing benchmark results: plain-text and Markdown tables, and sections of bench/RESULTS.md
 * delimited by `<!-- name:start -->` / `<!-- name:end -->` so that several benchmarks share the file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_HEADER = `# Benchmark results

Written by the benchmark scripts (\`npm run bench\`, ...); each section below is replaced
by its own script and the others are left alone. Every section names the date, the machine,
the WebGPU adapter and the command that produced it.

**Ratios matter more than absolute numbers.** The reference machine has 2 shared CPU cores
and no GPU: WebGPU runs on Mesa's lavapipe (Vulkan on the CPU), other engineers' jobs run
beside the benchmark, and absolute figures move by tens of percent from run to run. Peers
are timed in the same run, their repetitions alternating, so their ratio is the stable figure.

Engine rows (\`bench/engine.ts\`):

- **matmul N**: N x N by N x N float32 product, GFLOP/s = 2N^3 / seconds. *kernel* is the
  glassbox matmul variant that ran (\`planMatmul(...).name\`).
- **add 16M**: elementwise add of two 16,777,216-element tensors; GB/s counts bytes read and
  written (3 x 4 bytes per element).
- **sum 10M**: sum of 10^7 elements to one value; GB/s counts the 4 x 10^7 bytes read.
- **dispatch**: many small adds (1,024 elements) recorded back to back, then one wait;
  microseconds per op (for glassbox one op is one dispatch). The line under the table times
  the same kernel recorded straight into Dawn (one bind group, 64 dispatches per pass and
  submit, no glassbox op): Dawn's and lavapipe's own floor, and what glassbox adds to it.
- **readback 4 MB**: copying a freshly computed 1M-element tensor to JavaScript, ms.
- Each figure is the median of several repetitions; a repetition records R ops back to back
  and waits once (R is chosen so that a repetition lasts a fraction of a second).
- **x tfjs**, **x torch**: glassbox speed over the peer's (peer time / glassbox time);
  above 1 means glassbox is faster. *tfjs-webgpu* is TensorFlow.js's WebGPU backend on the
  same Dawn instance and adapter; *torch-cpu* is PyTorch on the CPU with all cores (its BLAS
  is named in the section).
- **check**: largest difference between the glassbox and tfjs results over the largest tfjs
  value, on the same inputs.
`;

/** Replaces (or appends) the section named `name` in the Markdown file at `path`. */
export function writeSection(path: string, name: string, body: string, header = RESULTS_HEADER): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body.trimEnd()}\n${end}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : header;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, next);
}

export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function machine(): { cpu: string; cores: number } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: os.cpus() named it
  }
  return { cpu, cores: availableParallelism() };
}

/** Columns padded to their widest cell, for the terminal. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((x, c) => x.padEnd(widths[c]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The repository root: the scripts run bundled from dist/run/, or unbundled from bench/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) if (existsSync(resolve(dir, 'bench/peers/torch_bench.py'))) return dir;
  return process.cwd();
}

/** A figure with about three significant digits ('-' when not finite). */
export const fmt = (x: number): string =>
  !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(2);

/** The lines every results section starts with: when, where, against what, and how it was run. */
/** The kernel choice a run made, for the report: the adapter's target and whether subgroup kernels ran. */
export function kernelChoice(target: string, subgroupSize: number | undefined): string {
  return `${target}, ${subgroupSize ? `subgroup kernels (size ${subgroupSize})` : 'no subgroup kernels'}`;
}

export function runLines(r: { date: string; machine: string; adapter: string; target: string; tfjsNote: string; torchNote: string; command: string; seconds: number }): string[] {
  return [
    `- date: ${r.date}`,
    `- machine: ${r.machine}; Node ${process.versions.node}`,
    `- adapter: ${r.adapter}; glassbox kernel target \`${r.target}\``,
    `- tfjs: ${r.tfjsNote}`,
    `- torch: ${r.torchNote}`,
    `- command: \`${r.command}\` (${r.seconds.toFixed(0)} s)`,
  ];
}

/**
 * The machine and adapter lines of a bench section that times glassbox against a CPU peer in one run:
 * the CPU, how loaded it was from start to end (on shared cores the absolute figures move, the ratio
 * is the figure to read), the adapter and glassbox's kernel target.
 */
export function machineLines(adapterName: string, target: string, loadAtStart: number): string[] {
  const info = machine();
  return [
    `- machine: ${info.cpu}, ${info.cores} cores; Node ${process.versions.node}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (above ${info.cores}: other jobs shared the cores, so absolute figures move from run to run; both engines are timed in the same run, and their ratio is the figure to read)`,
    `- adapter: ${adapterName}; glassbox kernel target \`${target}\``,
  ];
}
