/**
 * PyTorch on the CPU as a peer: one long-lived `/usr/bin/python3 bench/peers/torch_bench.py`
 * process, so its repetitions can alternate with the WebGPU peers'. Times are taken inside Python.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Peer } from '../timing.ts';

export const PYTHON = '/usr/bin/python3';

export interface TorchInfo {
  torch: string;
  threads: number;
  blas_info: string;
  blas_libraries: string[];
  openblas: boolean;
}

export interface TorchPeer {
  info: TorchInfo;
  peer(op: 'matmul' | 'add' | 'sum', size: number): Peer;
  close(): void;
}

/** Starts the Python peer, or returns why it cannot (no python3, no torch). */
export async function startTorch(script: string): Promise<TorchPeer | string> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not runnable (${probe.error.message})`;
  if (probe.status !== 0) return `\`${PYTHON} -c 'import torch'\` failed: ${probe.stderr.trim().split('\n').pop()}`;

  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();

  async function reply(): Promise<Record<string, unknown>> {
    const next = await lines.next();
    if (next.done) throw new Error(`the torch peer exited: ${stderr.trim().split('\n').pop() ?? ''}`);
    const msg = JSON.parse(next.value) as Record<string, unknown>;
    if (typeof msg.error === 'string') throw new Error(`torch peer: ${msg.error}`);
    return msg;
  }
  async function ask(req: object): Promise<Record<string, unknown>> {
    child.stdin.write(`${JSON.stringify(req)}\n`);
    return reply();
  }

  const ready = (await reply()).ready as TorchInfo;
  return {
    info: ready,
    peer: (op, size) => ({
      name: 'torch-cpu',
      async warmup() {
        return { seconds: (await ask({ cmd: 'warmup', op, size })).seconds as number };
      },
      async run(repeat) {
        return (await ask({ cmd: 'run', repeat })).seconds as number;
      },
      async dispose() {
        await ask({ cmd: 'dispose' });
      },
    }),
    close() {
      child.stdin.end();
    },
  };
}
