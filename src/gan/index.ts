/**
 * GANs (issue 19): a DCGAN (or WGAN-GP) trained with the engine, an "MNIST FID" in LeNet-5's feature space, E6 GAN
 * dissection (Bau et al. 2019) and E7 latent walks (Shen et al. 2020). Node only: training writes
 * checkpoints. `glassbox gan train|sample|dissect|walk` runs them.
 */
export { Dcgan, DcganGenerator, DcganDiscriminator, DCGAN_DEFAULTS, type DcganOptions } from '../nn/models/dcgan.ts';
export { trainGan, ganConfig, ganStep, newGan, fixedLatents, GAN_MODEL, GAN_DATASETS, GAN_LOSSES, type GanLoss, type GanConfig, type GanEpochRecord, type GanState, type TrainGanOptions } from './train.ts';
export { ClassifierFrechet, classSummary, featureStats, frechetDistance, symmetricSqrt, FRECHET_LAYER, type FeatureStats, type ClassifierReadout, type ClassifierFeaturesOptions } from './frechet.ts';
export { GanDissection, registerUnitEdit, strokeMasks, enclosedHoles, generatorLayer, STROKE_PARTS, GENERATOR_LAYERS, type StrokePart, type UnitEdit, type UnitReport, type PartEffect, type InsertionEffect, type GanDissectionOptions } from './dissect.ts';
export { LatentWalk, projectOut, cosine, interpolationLatents, type Boundary, type LabelledLatents, type WalkResult, type LatentWalkOptions } from './walk.ts';
export { ATTRIBUTES, defaultAttributes, measureAttributes, measureBatch, checkAttribute, spearman, type AttributeName } from './attributes.ts';
export { GAN_PIXELS, datasetImages, imageGrid, toClassifierInput } from './images.ts';
export { gradientPenalty, wganGpStep, WGAN_GP_DEFAULTS } from './wgan-gp.ts';
