/**
 * Run-time checks of the option objects public functions take. Most users run through esbuild or
 * plain JavaScript, which never type-check, so `conv2d(x, w, b, {strides: 2})` or `leakyRelu(x,
 * {negativeSlope: t})` would otherwise be ignored or misread without a word. Each op states its
 * options once, at its top: `checkOptions('conv2d', opts, CONV2D_OPTIONS)`; an unknown key, a value
 * of the wrong kind (a tensor where a number goes, a wrong dtype name) throws, naming the op, the
 * option, the value and what it takes.
 */
import { Tensor } from './tensor.ts';
import { shapeStr } from './shape.ts';

/**
 * 'number' (finite), 'integer', 'boolean', 'pair' (an integer or [int, int]), 'numbers' (a number or
 * an array of numbers, for ops that check the values themselves), 'dims' (an integer or
 * an array of them), 'dtype', 'tensor', 'tensors' (a tensor or an array of tensors, holes allowed), 'tensorOrNumber',
 * 'string', 'strings' (an array of them), 'function', 'object' (a plain object, whose fields its user checks), 'target' (what an explanation
 * method explains: a class, one per sample, an int32 tensor or a function), or a literal string value
 * written '=value'.
 */
export type OptionKind =
  | 'number'
  | 'integer'
  | 'boolean'
  | 'pair'
  | 'numbers'
  | 'dims'
  | 'dtype'
  | 'tensor'
  | 'tensors'
  | 'tensorOrNumber'
  | 'string'
  | 'object'
  | 'target'
  | 'function'
  | 'strings'
  | `=${string}`;
/** Each option's kind, or the kinds it may take. */
export type OptionSchema = Readonly<Record<string, OptionKind | readonly OptionKind[]>>;

const DTYPES = ['float32', 'int32', 'uint32'];

const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v);

const matches: Record<string, (v: unknown) => boolean> = {
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  integer: isInt,
  boolean: (v) => typeof v === 'boolean',
  // integrality and range are the op's to check (its message names the limit); here: the shape of the value
  pair: (v) => typeof v === 'number' || (Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number')),
  numbers: (v) => typeof v === 'number' || (Array.isArray(v) && v.every((n) => typeof n === 'number')),
  dims: (v) => isInt(v) || (Array.isArray(v) && v.every(isInt)),
  dtype: (v) => typeof v === 'string' && DTYPES.includes(v),
  tensor: (v) => v instanceof Tensor,
  tensors: (v) => v instanceof Tensor || (Array.isArray(v) && v.every((t) => t === undefined || t instanceof Tensor)),
  tensorOrNumber: (v) => v instanceof Tensor || typeof v === 'number', // a NaN bound gets the op's own message
  string: (v) => typeof v === 'string',
  function: (v) => typeof v === 'function',
  strings: (v) => Array.isArray(v) && v.every((s) => typeof s === 'string'),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Tensor),
  // the class values' range is checked where the model's output is known
  target: (v) => typeof v === 'number' || typeof v === 'function' || v instanceof Tensor || (Array.isArray(v) && v.every((n) => typeof n === 'number')),
};

const KIND_NAMES: Record<string, string> = {
  number: 'a finite number',
  integer: 'an integer',
  boolean: 'true or false',
  pair: 'an integer or a pair [height, width] of integers',
  numbers: 'a number or an array of numbers',
  dims: 'a dimension (an integer) or an array of them',
  dtype: `a dtype name (${DTYPES.map((d) => `'${d}'`).join(', ')})`,
  tensor: 'a tensor',
  tensors: 'a tensor or an array of tensors',
  tensorOrNumber: 'a number or a tensor',
  string: 'a string',
  function: 'a function',
  strings: 'an array of strings',
  object: 'an object',
  target: 'a class index, an array of them (one per sample), an int32 tensor [N] or a function from the output to one score per sample',
};

const kindName = (k: OptionKind) => (k.startsWith('=') ? `'${k.slice(1)}'` : KIND_NAMES[k]!);

/** A value as an error message shows it. */
export function describeValue(v: unknown): string {
  if (v instanceof Tensor) return `a tensor of shape ${shapeStr(v.shape)} (${v.dtype})`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return `[${v.slice(0, 6).map(describeValue).join(', ')}${v.length > 6 ? ', ...' : ''}]`;
  if (typeof v === 'function') return 'a function';
  return `an object of type ${(v as object).constructor?.name ?? 'Object'}`;
}

/** The closest known name to a misspelt one (case, or up to two edits), for "did you mean". */
function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const byCase = known.find((k) => k.toLowerCase() === lower);
  if (byCase) return byCase;
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = row[j]!;
        row[j] = next;
      }
    }
    return row[b.length]!;
  };
  return known.find((k) => distance(lower, k.toLowerCase()) <= 2);
}

/**
 * Checks `opts` against `schema` and returns it. `undefined` options are allowed (the op's default
 * applies) unless listed in `required`.
 */
export function checkOptions<T>(op: string, opts: T, schema: OptionSchema, required: readonly string[] = []): T {
  const known = Object.keys(schema);
  if (opts === undefined && required.length === 0) return opts;
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts) || opts instanceof Tensor)
    throw new Error(`glassbox.${op}: the options must be an object such as {${known.slice(0, 2).map((k) => `${k}: ...`).join(', ')}}, got ${describeValue(opts)}`);
  for (const [key, value] of Object.entries(opts as Record<string, unknown>)) {
    const spec = schema[key];
    if (!spec) {
      const guess = closest(key, known);
      throw new Error(`glassbox.${op}: unknown option '${key}'${guess ? ` (did you mean '${guess}'?)` : ''}; the options are ${known.join(', ') || '(none)'}`);
    }
    if (value === undefined) continue;
    const kinds = (typeof spec === 'string' ? [spec] : spec) as readonly OptionKind[];
    if (kinds.some((k) => (k.startsWith('=') ? value === k.slice(1) : matches[k]!(value)))) continue;
    const hint = value instanceof Tensor && !kinds.some((k) => k === 'tensor' || k === 'tensorOrNumber' || k === 'target') ? '; pass a plain number (read a one-element tensor with await t.item())' : '';
    throw new Error(`glassbox.${op}: option ${key} must be ${kinds.map(kindName).join(' or ')}, got ${describeValue(value)}${hint}`);
  }
  for (const key of required)
    if ((opts as Record<string, unknown>)[key] === undefined) throw new Error(`glassbox.${op}: option ${key} is required (${kindName(((typeof schema[key] === 'string' ? [schema[key]] : schema[key]) as OptionKind[])[0]!)})`);
  return opts;
}

/** The schemas shared by several ops. */
export const TENSOR_OPTIONS: OptionSchema = { dtype: 'dtype', requiresGrad: 'boolean' };
export const REDUCE_OPTIONS: OptionSchema = { dim: 'dims', keepdim: 'boolean' };
export const REDUCTION: OptionSchema = { reduction: ['=mean', '=sum', '=none'] };
