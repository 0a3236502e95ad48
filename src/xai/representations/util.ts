/** Small helpers shared by the representation methods: checked options with defaults, seeded normal samples. */
import { checkOptions, type OptionKind } from '../../tensor/check-options.ts';
import { seededRandom } from '../optimize/random.ts';

/**
 * The options merged over their defaults, after checking that every given key is known and of the
 * defaults' kind (numbers finite), so a typo such as {perplexty: 50} is an error, not a silent default.
 */
export function checkedOptions<T extends Record<string, unknown>>(method: string, given: object, defaults: T, kinds: Record<string, OptionKind | readonly OptionKind[]> = {}): T {
  const schema: Record<string, OptionKind | readonly OptionKind[]> = {};
  for (const [key, value] of Object.entries(defaults)) schema[key] = kinds[key] ?? (typeof value === 'number' ? 'number' : typeof value === 'boolean' ? 'boolean' : typeof value === 'function' ? 'function' : 'string');
  checkOptions(`representations.${method}`, given, schema);
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  return merged as T;
}

/** n standard normal samples from the seeded mulberry32 generator, as float64. */
export function seededNormal(n: number, seed: number): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length: n }, () => random.normal());
}

/** Checks that labels are whole numbers, one per point. */
export function checkLabels(method: string, labels: ArrayLike<number>, n: number): void {
  if (labels.length !== n) throw new Error(`glassbox.representations.${method}: ${labels.length} labels for ${n} points; give one label per point`);
  for (let i = 0; i < n; i++)
    if (!Number.isInteger(labels[i]!)) throw new Error(`glassbox.representations.${method}: label ${i} is ${labels[i]}; labels must be whole numbers (class indices)`);
}
