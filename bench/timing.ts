/**
 * Timing peers against each other on a shared, noisy machine.
 *
 * Each peer (glassbox, TensorFlow.js, PyTorch, ...) implements the same op. A repetition records
 * `repeat` ops back to back and waits once at the end, so per-op launch latency overlaps with the
 * work as it would in a real program. Repetitions of the peers alternate (A B, B A, A B, ...) so
 * that a burst of load from a neighbour hits all of them alike; each peer's figure is the median
 * of its repetitions.
 */

export interface Peer {
  name: string;
  /** Runs the op once (compiling kernels, filling pools) and waits; returns its seconds and, for cross-checks, the result. */
  warmup(): Promise<{ seconds: number; output?: Float32Array }>;
  /** Records `repeat` ops back to back, waits once, and returns the total seconds. */
  run(repeat: number): Promise<number>;
  dispose(): Promise<void>;
}

export interface TimingOptions {
  /** Aim for repetitions of about this many seconds. */
  targetSeconds: number;
  reps: number;
  maxRepeat: number;
  /** Fewer repetitions (down to one) when the slowest peer would spend longer than this on them. */
  budgetSeconds: number;
  /** Use this many ops per repetition instead of choosing from a timed run. */
  repeat?: number;
  /**
   * Untimed repetitions at the chosen size before timing (default 1, which fills the buffer
   * pools). Rows of tiny ops need more: V8 optimises an op's JavaScript path only after a few
   * thousand calls, and a training run makes that many in its first seconds.
   */
  warmupRuns?: number;
}

export interface PeerTiming {
  name: string;
  /** Median seconds per op over the repetitions. */
  seconds: number;
  repeat: number;
  /** Seconds per op of each repetition. */
  samples: number[];
  warmupSeconds: number;
  /** Seconds per op of the first untimed repetition at the chosen size (before V8 has optimised a tiny op's path). */
  firstRunSeconds?: number;
  output?: Float32Array;
  error?: string;
}

export const now = (): number => performance.now() / 1000;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A warmup longer than this is taken as the per-op time (one op per repetition); shorter ones get a second, timed run. */
const SLOW_OP_SECONDS = 1;

async function choose(peer: Peer, o: TimingOptions): Promise<{ timing: PeerTiming; estimate: number }> {
  const w = await peer.warmup();
  let repeat = o.repeat;
  let estimate = 0;
  if (repeat === undefined) {
    const single = w.seconds > SLOW_OP_SECONDS ? w.seconds : await peer.run(1);
    repeat = Math.max(1, Math.min(o.maxRepeat, Math.round(o.targetSeconds / single)));
    estimate = single * repeat;
  }
  // untimed repetitions at the chosen size, so buffer pools hold `repeat` outputs before timing
  let firstRunSeconds: number | undefined;
  if (repeat > 1) {
    for (let i = 0; i < (o.warmupRuns ?? 1); i++) {
      estimate = await peer.run(repeat);
      firstRunSeconds ??= estimate / repeat;
    }
  }
  return { timing: { name: peer.name, seconds: NaN, repeat, samples: [], warmupSeconds: w.seconds, firstRunSeconds, output: w.output }, estimate };
}

/** Warms up every peer, then alternates their timed repetitions; a peer that throws is reported and dropped. */
export async function timePeers(peers: readonly Peer[], o: TimingOptions): Promise<PeerTiming[]> {
  const results: PeerTiming[] = [];
  const live: Array<{ peer: Peer; result: PeerTiming }> = [];
  let slowest = 0;
  for (const peer of peers) {
    try {
      const { timing, estimate } = await choose(peer, o);
      results.push(timing);
      live.push({ peer, result: timing });
      slowest = Math.max(slowest, estimate);
    } catch (e) {
      results.push({ name: peer.name, seconds: NaN, repeat: 0, samples: [], warmupSeconds: NaN, error: (e as Error).message });
      await peer.dispose().catch(() => undefined);
    }
  }
  const reps = slowest > 0 ? Math.min(o.reps, Math.max(1, Math.floor(o.budgetSeconds / slowest))) : o.reps;
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? live : [...live].reverse();
    for (const entry of order) {
      if (entry.result.error) continue;
      try {
        entry.result.samples.push((await entry.peer.run(entry.result.repeat)) / entry.result.repeat);
      } catch (e) {
        entry.result.error = (e as Error).message;
      }
    }
  }
  for (const { peer, result } of live) {
    if (result.samples.length > 0) result.seconds = median(result.samples);
    await peer.dispose().catch(() => undefined);
  }
  return results;
}
