/**
 * A parametrisation that starts from given images (DeepDream, Mordvintsev et al. 2015): the
 * parameters are the [0, 1] pixels themselves, no sigmoid, so a black MNIST pixel is not stuck
 * where a sigmoid saturates; after each step they are clipped back into [0, 1], as the DeepDream
 * notebook clips to the valid pixel range.
 */
import { noGrad } from '../../autograd/node.ts';
import { conv2d } from '../../tensor/ops/conv.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, clamp, mul, sub } from '../../tensor/ops/elementwise.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { gaussianTaps, type ImageParam } from './param.ts';

export function imageParamFrom(images: Tensor): ImageParam {
  if (images.rank !== 4) throw new Error(`glassbox.xai.optimize: imageParamFrom needs images [N, C, H, W] in [0, 1], got ${shapeStr(images.shape)}`);
  const pixels = noGrad(() => tidy(() => clamp(images, { min: 0, max: 1 }).contiguous()));
  pixels.requiresGrad = true;
  const shape = images.shape as unknown as readonly [number, number, number, number];
  const update = (f: (p: Tensor) => Tensor) => noGrad(() => tidy(() => void pixels.assign(f(pixels).contiguous())));
  return {
    kind: 'pixel',
    shape,
    params: [pixels],
    image: () => pixels,
    project: () => update((p) => clamp(p, { min: 0, max: 1 })),
    blur: (sigma) => {
      const taps = gaussianTaps(sigma);
      const [c, k, pad] = [shape[1], taps.length, (taps.length - 1) / 2];
      const per = Array.from({ length: c }, () => taps).flat();
      update((p) => conv2d(conv2d(p, tensor(per, [c, 1, 1, k]), null, { padding: [0, pad], groups: c }), tensor(per, [c, 1, k, 1]), null, { padding: [pad, 0], groups: c }));
    },
    resetPixels: (mask, value) => {
      if (value.length !== shape[1]) throw new Error(`glassbox.xai.optimize: resetPixels needs one value per channel (${shape[1]}), got ${value.length}`);
      update((p) => add(mul(p, sub(1, mask)), mul(tensor([...value], [1, shape[1], 1, 1]), mask)));
    },
    dispose: () => pixels.dispose(),
  };
}
