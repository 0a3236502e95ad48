/** Starts the peers both benchmarks compare against, each optional, with a line saying what ran. */
import { resolve } from 'node:path';
import { nodeGpuObject } from '../../src/kernels/gpu.ts';
import { repoRoot } from '../report.ts';
import { loadTfjs, type TfjsPeer } from './tfjs.ts';
import { describeTorch, startTorch, type TorchPeer } from './torch.ts';

export interface Peers {
  tfjs?: TfjsPeer;
  tfjsNote: string;
  torch?: TorchPeer;
  torchNote: string;
}

/** TF.js WebGPU on glassbox's own Dawn GPU object, and the long-lived PyTorch process. */
export async function startPeers(opts: { tfjs: boolean; torch: boolean; tfjsDetail?: string }): Promise<Peers> {
  const peers: Peers = { tfjsNote: 'skipped (--no-tfjs)', torchNote: 'skipped (--no-torch)' };
  if (opts.tfjs) {
    try {
      const gpuObject = nodeGpuObject();
      if (!gpuObject) throw new Error('glassbox exposes no GPU object (nodeGpuObject() returned undefined)');
      peers.tfjs = await loadTfjs(gpuObject);
      peers.tfjsNote = `@tensorflow/tfjs-core ${peers.tfjs.version} + tfjs-backend-webgpu, same Dawn GPU object, own device${opts.tfjsDetail ? `; ${opts.tfjsDetail}` : ''}`;
    } catch (e) {
      peers.tfjsNote = `unavailable: ${(e as Error).message}`;
    }
  }
  console.error(`tfjs: ${peers.tfjsNote}`);
  if (opts.torch) {
    const started = await startTorch(resolve(repoRoot(), 'bench/peers/torch_bench.py')).catch((e: Error) => e.message);
    if (typeof started === 'string') peers.torchNote = `unavailable: ${started}`;
    else {
      peers.torch = started;
      peers.torchNote = describeTorch(started.info);
    }
  }
  console.error(`torch: ${peers.torchNote}`);
  return peers;
}
