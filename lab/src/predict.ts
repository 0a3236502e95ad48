/** The model's class probabilities for the drawn digit, and the bars that show them. */
import * as gb from '../../src/index.ts';

/** softmax of the model's output for `input` [1, C, H, W], without recording a graph. */
export async function classProbabilities(model: gb.nn.Module, input: gb.Tensor): Promise<Float32Array> {
  const p = gb.tidy(() => gb.noGrad(() => gb.softmax(model.forward(input), 1)));
  try {
    return Float32Array.from(await p.toArray());
  } finally {
    p.dispose();
  }
}

export const argmax = (v: ArrayLike<number>) => Array.prototype.indexOf.call(v, Math.max(...Array.from(v)));

/** One bar per class, the predicted one highlighted; clicking a bar makes that class the target. */
export function renderBars(el: HTMLElement, probs: ArrayLike<number>, onPick: (cls: number) => void): void {
  const best = argmax(probs);
  el.replaceChildren(
    ...Array.from(probs, (p, k) => {
      const row = document.createElement('div');
      row.className = 'bar' + (k === best ? ' best' : '');
      row.title = `explain class ${k}`;
      row.onclick = () => onPick(k);
      row.innerHTML = `<span class="k">${k}</span><span class="track"><span class="fill" style="width:${(100 * p).toFixed(1)}%"></span></span><span class="p">${(100 * p).toFixed(1)}%</span>`;
      return row;
    }),
  );
}
