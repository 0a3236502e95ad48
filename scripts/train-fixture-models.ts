// Trains the small models the explanation tests use and writes them to tests/fixtures/models/.
// Usage: node scripts/run-ts.mjs scripts/train-fixture-models.ts [name ...]   (default: all)
import { FIXTURE_MODELS, trainFixtureModel, type FixtureName } from '../tests/trained-models.ts';

const names = (process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(FIXTURE_MODELS)) as FixtureName[];
for (const name of names) {
  if (!(name in FIXTURE_MODELS)) throw new Error(`unknown fixture model '${name}' (known: ${Object.keys(FIXTURE_MODELS).join(', ')})`);
  await trainFixtureModel(name);
}
