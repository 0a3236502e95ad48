/** The glassbox command line: `glassbox <command> [options]`. */
import { demo } from './demo.ts';
import { evalCommand, EVAL_OPTIONS, train, TRAIN_OPTIONS } from './train.ts';
import { evaluateCommand, EVALUATE_OPTIONS } from './evaluate.ts';
import { explainCommand, EXPLAIN_OPTIONS } from './explain.ts';
import { sanityCommand, SANITY_OPTIONS } from './sanity.ts';
import { mainJob, MAIN_OPTIONS } from './main-job.ts';
import { MODEL_ZOO } from '../nn/models/zoo.ts';
import { DATASETS } from '../train/datasets.ts';
import { parseArgs, UsageError } from './args.ts';

const COMMANDS: Record<string, { summary: string; options: string[]; run: (args: ReturnType<typeof parseArgs>) => Promise<void> }> = {
  main: { summary: 'train LeNet-5 on MNIST, explain test images with every method, write runs/main/report.html', options: MAIN_OPTIONS, run: mainJob },
  demo: { summary: 'fit an MLP on MNIST and print the loss falling (the engine end to end)', options: ['train-images', 'batch-size'], run: demo },
  train: { summary: 'train a model: --model <name> --dataset <name> [--epochs --batch-size --lr --optimizer sgd|adam|adamw --schedule none|step|cosine|onecycle --shift <pixels> --seed --out --limit --resume <dir>]', options: TRAIN_OPTIONS, run: train },
  evaluate: { summary: 'score every explanation method on the same images: --model <run folder> [--methods all|a,b --n 16 --out <dir> --layer <path>]', options: EVALUATE_OPTIONS, run: evaluateCommand },
  explain: { summary: 'explain one image: --model <run folder> (--image file.png | --index i) [--method saliency|gradcam|ig|...|all --target k --out <dir> --layer <path>]', options: EXPLAIN_OPTIONS, run: explainCommand },
  sanity: { summary: 'Adebayo sanity checks: --model <run folder> [--random-labels <run folder> --methods a,b --n 16 --out <dir>]', options: SANITY_OPTIONS, run: sanityCommand },
  eval: { summary: 'accuracy of a trained run: --model <run folder> [--dataset <name> --limit]', options: EVAL_OPTIONS, run: evalCommand },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}\n${' '.repeat(13)}options: ${c.options.map((o) => `--${o}`).join(' ') || '(none)'}`);
  return (
    `usage: glassbox <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n` +
    `models: ${Object.keys(MODEL_ZOO).join(', ')}\ndata sets: ${Object.keys(DATASETS).join(', ')}\n` +
    'Data sets are read from GLASSBOX_DATA (or ../shared/datasets here) or downloaded; see README.md.'
  );
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(help());
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command '${name}'`);
  await command.run(parseArgs(rest, command.options));
}

try {
  await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof UsageError) {
    console.error(`glassbox: ${e.message}\n\n${help()}`);
    process.exit(2);
  }
  console.error(`glassbox: ${(e as Error).message}`);
  if (process.env.GLASSBOX_DEBUG) console.error((e as Error).stack);
  process.exit(1);
}
