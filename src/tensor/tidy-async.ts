/**
 * tidyAsync: tidy() for async code. Every tensor created while `fn` runs, across its awaits, is
 * disposed when it settles, except those it resolves to (a tensor, or an array / plain object of
 * tensors) and those marked with keep(); those move to the enclosing scope.
 *
 *   for (let step = 0; step < 500; step++)
 *     await tidyAsync(async () => { const loss = lossOf(model, x); log(await loss.item()); });
 *
 * Which scope a tensor belongs to follows the async call chain (Node's AsyncLocalStorage), so
 * scopes may nest and may run concurrently (Promise.all over several tidyAsync calls): each frees
 * only its own tensors. Where AsyncLocalStorage is missing (browsers, Node before 20.16) the chain
 * cannot be followed: then one tidyAsync may run at a time, and starting a second one while it
 * runs (nested or concurrent) throws rather than free tensors of the wrong scope.
 *
 * Not supported anywhere: starting tidyAsync inside a synchronous tidy() (that scope would end
 * before the awaits); work that fn starts without awaiting keeps running after the scope ends,
 * and the tensors it then creates go to the enclosing scope.
 */
import { runtime } from '../kernels/runtime.ts';
import { collectTensors, insideTidy, setOuterScope, type Tensor } from './tensor.ts';

interface AsyncScope {
  tensors: Set<Tensor>;
  parent: AsyncScope | undefined;
  open: boolean;
}

interface ContextStorage {
  getStore(): AsyncScope | undefined;
  run<R>(store: AsyncScope, fn: () => R): R;
}

type GetBuiltin = (id: string) => { AsyncLocalStorage: new () => ContextStorage };

let storage: ContextStorage | null | undefined;
/** Without AsyncLocalStorage: the one scope running. */
let soleScope: AsyncScope | undefined;

/** AsyncLocalStorage, looked up the first time a scope opens (it costs promise hooks on Node 20, so not before). */
function contextStorage(): ContextStorage | null {
  if (storage === undefined) {
    const getBuiltin = (globalThis as { process?: { getBuiltinModule?: GetBuiltin } }).process?.getBuiltinModule;
    storage = getBuiltin ? new (getBuiltin('node:async_hooks').AsyncLocalStorage)() : null;
  }
  return storage;
}

/** The innermost scope still open on the current async chain. */
function currentScope(): AsyncScope | undefined {
  let s = storage ? storage.getStore() : soleScope;
  while (s && !s.open) s = s.parent;
  return s;
}

setOuterScope(() => currentScope()?.tensors);

/** Misuse (not a function, inside tidy(), a second scope without AsyncLocalStorage) throws at the call, not as a rejection. */
export function tidyAsync<T>(fn: () => Promise<T> | T): Promise<T> {
  if (typeof fn !== 'function') throw new Error(`glassbox.tidyAsync: expects a function (async () => ...), got ${typeof fn}`);
  if (insideTidy())
    throw new Error('glassbox.tidyAsync: cannot start inside a synchronous tidy() (it would end before the awaits); call tidyAsync outside it, and tidy() inside tidyAsync');
  const context = contextStorage();
  if (!context && soleScope)
    throw new Error(
      'glassbox.tidyAsync: another tidyAsync is still running, and without AsyncLocalStorage (browsers, Node < 20.16) the two cannot be told apart; ' +
        'await one before starting the next, or use tidy() for the nested part',
    );
  return runScope({ tensors: new Set(), parent: currentScope(), open: true }, context, fn);
}

async function runScope<T>(scope: AsyncScope, context: ContextStorage | null, fn: () => Promise<T> | T): Promise<T> {
  if (!context) soleScope = scope;
  let result: T;
  try {
    result = await (context ? context.run(scope, fn) : fn());
  } catch (e) {
    close(scope, undefined);
    throw e;
  } finally {
    if (!context) soleScope = undefined;
  }
  close(scope, result);
  return result;
}

/** Ends a scope: what it returns and what is kept move to the enclosing scope; the rest is disposed. */
function close(scope: AsyncScope, result: unknown): void {
  scope.open = false;
  const returned = new Set<Tensor>();
  collectTensors(result, returned);
  const parent = scope.parent?.tensors;
  let disposed = false;
  for (const t of scope.tensors) {
    if (returned.has(t) || t.kept) {
      parent?.add(t);
      continue;
    }
    t.dispose();
    disposed = true;
  }
  scope.tensors.clear();
  // as tidy(): submitting lets the next step reuse the freed buffers
  if (disposed && !insideTidy()) runtime().queue.submit();
}
