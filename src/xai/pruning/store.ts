/**
 * Where a pruning experiment keeps what it has finished, so that a second run skips it (resuming):
 * OpenLTH's layout of named levels, each with its mask and metrics, and branches as siblings
 * (`level_3/mask.safetensors`, `level_3/main/metrics.json`, `level_3/reinit/metrics.json`, ...).
 * In memory by default (browser-safe); the CLI passes a folder (src/cli/prune.ts).
 */
export interface ExperimentStore {
  load(key: string): Promise<Uint8Array | undefined>;
  /** Must be atomic per key: a crash leaves the old value or the new one, never half of it. */
  save(key: string, bytes: Uint8Array): Promise<void>;
}

export class MemoryStore implements ExperimentStore {
  readonly entries = new Map<string, Uint8Array>();
  async load(key: string): Promise<Uint8Array | undefined> {
    return this.entries.get(key);
  }
  async save(key: string, bytes: Uint8Array): Promise<void> {
    this.entries.set(key, bytes);
  }
}

const text = new TextEncoder();
const untext = new TextDecoder();

export async function loadJson<T>(store: ExperimentStore, key: string): Promise<T | undefined> {
  const bytes = await store.load(key);
  return bytes ? (JSON.parse(untext.decode(bytes)) as T) : undefined;
}

export function saveJson(store: ExperimentStore, key: string, value: unknown): Promise<void> {
  return store.save(key, text.encode(JSON.stringify(value, null, 1)));
}
