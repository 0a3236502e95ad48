/**
 * The glassbox command line: `glassbox <command> [options]`, `glassbox <command> --help`.
 * The options are parsed and checked (options.ts) before anything else; only then is the chosen
 * command imported, and with it the engine, which acquires the GPU. So --help and usage errors
 * answer at once and touch no GPU.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable } from '../../datasets/printable.ts';
import { parseCommandLine, UsageError, type ParsedArgs } from './args.ts';
import { COMMANDS, HELP_FOOTER } from './options.ts';

type Run = (args: ParsedArgs) => Promise<void>;

/** Each command's implementation, imported only when it runs. */
const IMPLEMENTATIONS: Record<string, () => Promise<Run>> = {
  main: async () => (await import('./main-job.ts')).mainJob,
  demo: async () => (await import('./demo.ts')).demo,
  train: async () => (await import('./train.ts')).train,
  evaluate: async () => (await import('./evaluate.ts')).evaluateCommand,
  explain: async () => (await import('./explain.ts')).explainCommand,
  sanity: async () => (await import('./sanity.ts')).sanityCommand,
  eval: async () => (await import('./train.ts')).evalCommand,
  attack: async () => (await import('./attack.ts')).attackCommand,
  manipulate: async () => (await import('./manipulate.ts')).manipulateCommand,
  'robust-saliency': async () => (await import('./robust-saliency.ts')).robustSaliencyCommand,
  'visualize-features': async () => (await import('./visualize.ts')).visualizeFeaturesCommand,
  'visualize-patches': async () => (await import('./visualize-patches.ts')).visualizePatchesCommand,
  'visualize-style': async () => (await import('./visualize-style.ts')).visualizeStyleCommand,
  'visualize-circuit': async () => (await import('./visualize-circuit.ts')).visualizeCircuitCommand,
  'visualize-invert': async () => (await import('./visualize-invert.ts')).visualizeInvertCommand,
  'visualize-dream': async () => (await import('./visualize-dream.ts')).visualizeDreamCommand,
  'visualize-decode': async () => (await import('./visualize-decode.ts')).visualizeDecodeCommand,
  robustness: async () => (await import('./robustness.ts')).robustnessCommand,
  'cue-conflict': async () => (await import('./cue-conflict.ts')).cueConflictCommand,
  dissect: async () => (await import('./dissect.ts')).dissectCommand,
  weights: async () => (await import('./weights.ts')).weightsCommand,
  embed: async () => (await import('./embed.ts')).embedCommand,
  lab: async () => (await import('./lab.ts')).labCommand,
  prune: async () => (await import('./prune.ts')).pruneCommand,
  'gan-train': async () => (await import('./gan.ts')).ganTrainCommand,
  'gan-sample': async () => (await import('./gan.ts')).ganSampleCommand,
  'gan-dissect': async () => (await import('./gan.ts')).ganDissectCommand,
  'gan-walk': async () => (await import('./gan.ts')).ganWalkCommand,
  symmetry: async () => (await import('./symmetry.ts')).symmetryCommand,
  connect: async () => (await import('./connect.ts')).connectCommand,
  stitch: async () => (await import('./stitch.ts')).stitchCommand,
  ablate: async () => (await import('./ablate.ts')).ablateCommand,
};

/** `glassbox visualize <method> ...` is the command `visualize-<method>` (and `gan <step>` is `gan-<step>`) (the grammar has one word per command). */
export function joinSubcommand(argv: string[]): string[] {
  return (argv[0] === 'visualize' || argv[0] === 'gan') && argv[1] !== undefined && !argv[1].startsWith('-') ? [`${argv[0]}-${argv[1]}`, ...argv.slice(2)] : argv;
}

/**
 * Refuses an output folder that cannot be written, before any work: the folder must be a
 * writable directory, or not exist yet below a writable directory.
 */
export function checkWritableFolder(option: string, path: string): void {
  let existing = resolve(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const why = !statSync(existing).isDirectory() ? `${existing} is not a folder` : !canWrite(existing) ? `${existing} is not writable` : undefined;
  if (why) throw new UsageError(printable(`--${option} ${path}: ${why}; choose a folder you can write to.`));
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function main(argv: string[]): Promise<void> {
  const line = parseCommandLine(argv, COMMANDS, HELP_FOOTER);
  if (line.kind === 'help') {
    process.stdout.write(line.text);
    return;
  }
  for (const option of ['out', 'resume']) {
    const value = line.args.options[option];
    if (typeof value === 'string') checkWritableFolder(option, value);
  }
  const run = await IMPLEMENTATIONS[line.command]!();
  await run(line.args);
}

try {
  await main(joinSubcommand(process.argv.slice(2)));
} catch (e) {
  if (e instanceof UsageError) {
    const command = COMMANDS.find((c) => c.name === joinSubcommand(process.argv.slice(2))[0]);
    console.error(`glassbox: ${e.message}\n(see: glassbox ${command ? `${command.name} ` : ''}--help)`);
    process.exit(2);
  }
  console.error(`glassbox: ${(e as Error).message}`);
  if (process.env.GLASSBOX_DEBUG) console.error((e as Error).stack);
  process.exit(1);
}
