/**
 * The sanity check in the page (Adebayo et al. 2018, cascading model parameter randomisation):
 * re-initialise the layers one by one from the top (glassbox's randomizeLayer, seeded, undoable)
 * and watch which methods' maps change with the weights: a map that stays the same cannot be
 * explaining the model. Similarity to the trained model's map: Spearman rank correlation of |map|.
 */
import * as gb from '../../src/index.ts';
import { explain, optionValues, camLayers, type ExplainedMap } from './explain.ts';
import { mapCanvas } from './paint.ts';

export const SANITY_METHODS = ['saliency', 'guided-backprop', 'integrated-gradients', 'grad-cam'] as const;

export class Randomization {
  private restores: Array<() => void> = [];
  private trainedMaps: Map<string, ExplainedMap> | null = null;
  /** The class explained since the first randomisation (the prediction changes as the weights go). */
  private target: number | null = null;

  constructor(private model: gb.nn.Module) {}

  /** The layers randomised so far, top first. */
  get randomized(): string[] {
    return gb.xai.parameterLayers(this.model).reverse().slice(0, this.restores.length);
  }

  get canRandomizeMore(): boolean {
    return this.restores.length < gb.xai.parameterLayers(this.model).length;
  }

  /** Remembers the trained model's maps of `input` the first time, then randomises the next layer down. */
  async next(input: gb.Tensor, target: number, norm: gb.Normalization): Promise<string> {
    if (!this.trainedMaps) {
      this.target = target;
      this.trainedMaps = await this.maps(input, target, norm);
    }
    const layers = gb.xai.parameterLayers(this.model).reverse();
    const layer = layers[this.restores.length];
    if (!layer) throw new Error('every layer is randomised already');
    this.restores.push(gb.xai.randomizeLayer(this.model, layer, this.restores.length + 1));
    return layer;
  }

  /** Puts every trained weight back. */
  restore(): void {
    while (this.restores.length) this.restores.pop()!();
    this.trainedMaps = null;
    this.target = null;
  }

  async maps(input: gb.Tensor, target: number, norm: gb.Normalization): Promise<Map<string, ExplainedMap>> {
    const layers = camLayers(this.model);
    const out = new Map<string, ExplainedMap>();
    for (const m of SANITY_METHODS) out.set(m, await explain(this.model, m, input, target, optionValues(m, layers), norm));
    return out;
  }

  /** Thumbnails of every method's map now, each with its similarity to the trained model's (for the class explained when randomisation began). */
  async render(el: HTMLElement, input: gb.Tensor, target: number, norm: gb.Normalization): Promise<Record<string, number>> {
    const now = await this.maps(input, this.target ?? target, norm);
    const similarity: Record<string, number> = {};
    el.replaceChildren(
      ...[...now].map(([name, map]) => {
        const fig = document.createElement('figure');
        const trained = this.trainedMaps?.get(name);
        const rho = trained ? gb.xai.mapSimilarity(trained.values, map.values, map.h, map.w).spearmanAbs : 1;
        similarity[name] = rho;
        const caption = document.createElement('figcaption');
        caption.textContent = `${name}: ρ ${rho.toFixed(2)}`;
        fig.append(mapCanvas(map.values, map.w, map.h, map.signed, 3, name), caption);
        return fig;
      }),
    );
    return similarity;
  }
}
