/**
 * Representations (catalogue rows A5 and A6): what the weights and the layers' codes look like.
 * - templates.ts: A5 weight pictures, `new WeightPictures(model, {inputShape}).draw()`: a linear classifier's class templates, a conv net's first-layer filters.
 * - activations.ts: layer activations over a data set (one hooked forward pass per batch) and one image's maps as a grid.
 * - embedding.ts: A6, `new LayerEmbedding(model, {layers, methods}).embed(images, labels)`: every layer projected to 2-D and scored by kNN accuracy.
 * - pca.ts: PCA (covariance by matmul; Jacobi, or subspace iteration for large d). eigen.ts: the symmetric Jacobi eigensolver.
 * - tsne.ts: exact t-SNE with the O(N^2) work on the GPU. knn.ts: leave-one-out kNN accuracy.
 */
export * from './templates.ts';
export * from './activations.ts';
export * from './embedding.ts';
export * from './pca.ts';
export * from './eigen.ts';
export * from './tsne.ts';
export * from './knn.ts';
