/**
 * The zoo's training benchmark nets (src/nn/models: lenet5, mnist-cnn, cifar-net) written with
 * tfjs-core ops, for the TensorFlow.js peer: tfjs-layers is not a dependency, and ops keep the
 * layer-by-layer correspondence visible. TensorFlow.js's native layout is used (NHWC images,
 * HWIO filters), so flatten orders differ from glassbox's NCHW; shapes and FLOPs are the same.
 *
 * Batch norm in training mode normalises with the batch's moments (tf.moments, then
 * tf.batchNorm, whose gradient covers mean and variance); running statistics are not kept
 * (glassbox and PyTorch update them: two tiny elementwise ops per layer).
 */
type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;
type Variable = import('@tensorflow/tfjs-core').Variable;

export type NetName = 'lenet5' | 'mnist-cnn' | 'cifar-net';

export interface TfNet {
  /** [H, W, C] of one image. */
  image: [number, number, number];
  variables: Variable[];
  /** x: [N, H, W, C] -> logits [N, 10], in training mode (dropout on, batch statistics). */
  forward(x: Tensor4D): TfTensor;
}

export function buildTfNet(tf: Tf, name: NetName): TfNet {
  const variables: Variable[] = [];
  const param = (shape: number[], fanIn: number) => {
    const v = tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
    variables.push(v);
    return v;
  };
  const zeros = (n: number) => {
    const v = tf.variable(tf.zeros([n]));
    variables.push(v);
    return v;
  };
  const ones = (n: number) => {
    const v = tf.variable(tf.ones([n]));
    variables.push(v);
    return v;
  };
  type Layer = (x: TfTensor) => TfTensor;
  const conv = (cin: number, cout: number, k: number, pad: 'same' | 'valid', bias = true): Layer => {
    const w = param([k, k, cin, cout], cin * k * k);
    const b = bias ? zeros(cout) : undefined;
    return (x) => {
      const y = tf.conv2d(x as Tensor4D, w as Tensor4D, 1, pad);
      return b ? tf.add(y, b) : y;
    };
  };
  const dense = (fin: number, fout: number): Layer => {
    const w = param([fin, fout], fin);
    const b = zeros(fout);
    return (x) => tf.add(tf.matMul(x, w), b);
  };
  const batchNorm = (c: number): Layer => {
    const gamma = ones(c);
    const beta = zeros(c);
    return (x) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, mean, variance, beta, gamma, 1e-5);
    };
  };
  const relu: Layer = (x) => tf.relu(x);
  const pool: Layer = (x) => tf.maxPool(x as Tensor4D, 2, 2, 'valid');
  const flatten: Layer = (x) => tf.reshape(x, [x.shape[0]!, -1]);
  const dropout = (rate: number): Layer => (x) => tf.dropout(x, rate);
  const sequential = (image: [number, number, number], layers: Layer[]): TfNet => ({
    image,
    variables,
    forward: (x) => layers.reduce<TfTensor>((h, layer) => layer(h), x),
  });

  if (name === 'lenet5')
    return sequential(
      [28, 28, 1],
      [conv(1, 6, 5, 'same'), relu, pool, conv(6, 16, 5, 'valid'), relu, pool, flatten, dense(400, 120), relu, dense(120, 84), relu, dense(84, 10)],
    );
  if (name === 'mnist-cnn')
    return sequential(
      [28, 28, 1],
      [conv(1, 32, 3, 'valid'), relu, conv(32, 64, 3, 'valid'), relu, pool, dropout(0.25), flatten, dense(9216, 128), relu, dropout(0.5), dense(128, 10)],
    );
  const stage = (cin: number, cout: number): Layer[] => [
    conv(cin, cout, 3, 'same', false),
    batchNorm(cout),
    relu,
    conv(cout, cout, 3, 'same', false),
    batchNorm(cout),
    relu,
  ];
  const globalAveragePool: Layer = (x) => tf.mean(x, [1, 2]);
  return sequential([32, 32, 3], [...stage(3, 32), pool, ...stage(32, 64), pool, ...stage(64, 128), globalAveragePool, dense(128, 10)]);
}
