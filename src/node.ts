/**
 * glassbox for Node (`import * as gb from 'glassbox/node'`): everything the browser-safe entry
 * ('./index.ts', `glassbox`) has, plus what needs the file system: saving and loading models,
 * writing pictures and JSON, and the data sets (MNIST, Fashion-MNIST, CIFAR-10, mixtures):
 * `loadModel(path)` rebuilds a trained model from its file, `datasets.mnist({split})` gives tensors.
 */
export * from './index.ts';
export { saveModel } from './nn/safetensors-file.ts';
export { loadModel, type TrainedModel } from './nn/load-model.ts';
export { readPng, writePng, writeJson, writeHtml, writeReport, chartLibrary, maxImagePixels } from './viz/files.ts';
export { saveImage, type SaveImageOptions } from './data/save-image.ts';
export { DATASETS, datasetSpec, type DatasetSpec } from './train/datasets.ts';
export * as datasets from './data/datasets.ts';
export * as gan from './gan/index.ts';
export type { TensorDataset, TensorDatasetOptions } from './data/datasets.ts';
