/** The glassbox command line: `glassbox <command> [options]`. */
import { demo } from './demo.ts';
import { parseArgs, UsageError } from './args.ts';

const COMMANDS: Record<string, { summary: string; options: string[]; run: (args: ReturnType<typeof parseArgs>) => Promise<void> }> = {
  demo: { summary: 'fit an MLP on MNIST and print the loss falling (the engine end to end)', options: ['train-images', 'batch-size'], run: demo },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}\n${' '.repeat(13)}options: ${c.options.map((o) => `--${o}`).join(' ') || '(none)'}`);
  return `usage: glassbox <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nData sets are read from GLASSBOX_DATA (or ../shared/datasets here) or downloaded; see README.md.`;
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
