/**
 * `summary(model, inputShape)`: a torchinfo-style table of every module with its output shape and
 * parameter count.
 *
 * Output shapes are not declared anywhere, so they are found the way torchinfo finds them: one
 * forward pass on zeros with a forward hook on every module. The pass runs in eval mode under
 * noGrad (so batch norm's running statistics and dropout's generator are untouched) and every
 * module's train/eval flag is restored afterwards.
 */
import { Module } from './module.ts';
import { noGrad } from '../autograd/node.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { zeros } from '../tensor/ops/creation.ts';
import { shapeStr } from '../tensor/shape.ts';
import { forwardNamingLayer } from './layer-errors.ts';

export interface SummaryRow {
  /** Dotted path, as in state dicts ('' for the model itself). */
  name: string;
  type: string;
  depth: number;
  /** Shape of the first call's output; null when forward never called this module. */
  outputShape: number[] | null;
  calls: number;
  /** Parameters this module owns directly (its submodules' are on their own rows). */
  ownParams: number;
  /** Parameters of the module and everything below it. */
  totalParams: number;
}

export interface ModelSummary {
  inputShape: number[];
  outputShape: number[];
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  /** Bytes of float32 parameters and buffers. */
  stateBytes: number;
  /** Bytes of every module output of one forward pass at this input shape (leaf modules only). */
  activationBytes: number;
  toString(): string;
}

export function summary(model: Module, inputShape: number[]): ModelSummary {
  const modules = model.namedModules();
  const seen = new Map<Module, { shape: number[]; calls: number }>();
  const wasTraining = modules.map(([, m]) => m.training);
  const removers = modules.map(([, m]) =>
    m.registerForwardHook((mod, _inputs, out) => {
      const entry = seen.get(mod);
      if (entry) entry.calls++;
      else seen.set(mod, { shape: [...out.shape], calls: 1 });
    }),
  );
  let outputShape: number[];
  try {
    model.eval();
    outputShape = tidy(() => noGrad(() => [...forwardNamingLayer(model, () => model.forward(zeros(inputShape))).shape]));
  } catch (e) {
    throw new Error(`glassbox.nn.summary: the forward pass on an input of shape ${shapeStr(inputShape)} failed: ${(e as Error).message}`);
  } finally {
    removers.forEach((remove) => remove());
    modules.forEach(([, m], i) => (m.training = wasTraining[i]!));
  }

  const depths = new Map<Module, number>();
  const walk = (m: Module, depth: number): void => {
    depths.set(m, depth);
    for (const [, child] of m.namedChildren()) walk(child, depth + 1);
  };
  walk(model, 0);
  const rows: SummaryRow[] = modules.map(([name, m]) => {
    const hit = seen.get(m);
    return {
      name,
      type: m.constructor.name,
      depth: depths.get(m)!,
      outputShape: hit?.shape ?? null,
      calls: hit?.calls ?? 0,
      ownParams: ownParameters(m).reduce((s, p) => s + p.size, 0),
      totalParams: m.numParameters(),
    };
  });
  const params = model.parameters();
  const isLeaf = (m: Module) => m.namedChildren().length === 0;
  const activationBytes = modules.reduce((s, [, m]) => {
    const hit = seen.get(m);
    return hit && isLeaf(m) ? s + 4 * hit.calls * hit.shape.reduce((a, b) => a * b, 1) : s;
  }, 0);
  const result: ModelSummary = {
    inputShape: [...inputShape],
    outputShape,
    rows,
    totalParams: params.reduce((s, p) => s + p.size, 0),
    trainableParams: params.filter((p) => p.requiresGrad).reduce((s, p) => s + p.size, 0),
    stateBytes: 4 * [...model.stateDict().values()].reduce((s, t) => s + t.size, 0),
    activationBytes,
    toString: () => formatSummary(result),
  };
  return result;
}

function ownParameters(m: Module): Tensor[] {
  return m.namedParameters().filter(([n]) => !n.includes('.')).map(([, p]) => p);
}

function formatSummary(s: ModelSummary): string {
  const count = (n: number) => n.toLocaleString('en');
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;
  const table = s.rows.map((r) => {
    const label = r.name === '' ? `${r.type}` : `${'  '.repeat(r.depth)}${r.name} (${r.type})`;
    const shape = r.outputShape ? shapeStr(r.outputShape) + (r.calls > 1 ? ` x${r.calls}` : '') : '--';
    const paramsCell =
      r.ownParams === r.totalParams ? count(r.ownParams) : `${r.ownParams ? count(r.ownParams) + ' ' : ''}(${count(r.totalParams)})`;
    return [label, shape, paramsCell];
  });
  const header = ['Layer (type)', 'Output shape', 'Param #'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('   ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 6);
  return [
    rule,
    line(header),
    rule,
    ...table.map(line),
    rule,
    `Input shape: ${shapeStr(s.inputShape)}  ->  output shape: ${shapeStr(s.outputShape)}`,
    `Total params: ${count(s.totalParams)}  (trainable: ${count(s.trainableParams)}; parameters and buffers ${mb(s.stateBytes)})`,
    `Forward activations at this batch size: ${mb(s.activationBytes)}`,
    "Param # in brackets: a container's total, already counted on its children's rows. Layer paths are what --layer takes.",
  ].join('\n');
}
