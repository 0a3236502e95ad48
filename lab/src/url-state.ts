/**
 * The page's state in the URL (after '#', so changing it never reloads the page), so a teacher
 * can share a link that opens the same view: the model, the method and its options, the target,
 * the ReLU rule, and the image (28x28 bytes, deflated with fflate and base64url-encoded: a drawn
 * digit takes ~200 characters).
 */
import { deflateSync, inflateSync } from 'fflate';
import type { OptionValues } from './explain.ts';
import type { ReluRule } from './layer-trace.ts';

export interface LabState {
  /** A pretrained model's key ('lenet5', 'mnist-cnn': model-source.ts's PRETRAINED), 'trained' (the one trained in the page) or 'file' (a dropped file). */
  model: string;
  method: string;
  /** A class, or 'auto' (the predicted class). */
  target: number | 'auto';
  options: OptionValues;
  rule: ReluRule;
  /** 28x28 in [0, 1], or null (an empty pad). */
  image: Float32Array | null;
}

export const DEFAULT_STATE: LabState = { model: 'lenet5', method: 'saliency', target: 'auto', options: {}, rule: 'gradient', image: null };

const toBase64Url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromBase64Url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));

export function encodeState(s: LabState): string {
  const p = new URLSearchParams();
  p.set('model', s.model);
  p.set('method', s.method);
  p.set('target', String(s.target));
  if (s.rule !== 'gradient') p.set('rule', s.rule);
  for (const [k, v] of Object.entries(s.options)) p.set(`o.${k}`, String(v));
  if (s.image) p.set('image', toBase64Url(deflateSync(Uint8Array.from(s.image, (v) => Math.round(v * 255)), { level: 9 })));
  return p.toString();
}

/** The state a URL hash describes; anything missing or unreadable keeps its default (and is reported in `problems`). */
export function decodeState(hash: string): { state: LabState; problems: string[] } {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const problems: string[] = [];
  const state: LabState = { ...DEFAULT_STATE, options: {} };
  // 'pretrained' named the LeNet-5 when it was the only model the page shipped: old links keep working
  const model = p.get('model');
  state.model = model === 'pretrained' ? 'lenet5' : (model ?? state.model);
  state.method = p.get('method') ?? state.method;
  const target = p.get('target');
  if (target !== null && target !== 'auto') {
    const k = Number(target);
    if (Number.isInteger(k) && k >= 0 && k <= 9) state.target = k;
    else problems.push(`target '${target}' is not a class 0-9 or 'auto'`);
  }
  const rule = p.get('rule');
  if (rule === 'guided' || rule === 'deconvnet') state.rule = rule;
  else if (rule !== null) problems.push(`rule '${rule}' is not gradient, guided or deconvnet`);
  for (const [k, v] of p) if (k.startsWith('o.')) state.options[k.slice(2)] = v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  const image = p.get('image');
  if (image) {
    try {
      const bytes = inflateSync(fromBase64Url(image));
      if (bytes.length !== 784) throw new Error(`${bytes.length} pixels`);
      state.image = Float32Array.from(bytes, (b) => b / 255);
    } catch (e) {
      problems.push(`the image in the link could not be read (${(e as Error).message})`);
    }
  }
  return { state, problems };
}
