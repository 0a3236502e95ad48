/** Linear classifiers on flattened pixels (CS231n's templates): softmax regression and a linear SVM. */
import { Flatten, Linear, Sequential } from '../layers.ts';

/** Flatten then one Linear layer; trained with cross-entropy it is softmax regression, with hinge loss a linear SVM. */
export class LinearClassifier extends Sequential {
  constructor(inputs: number, classes: number) {
    super(new Flatten(), new Linear(inputs, classes));
  }
}
