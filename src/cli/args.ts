/**
 * The command line's grammar: every option of every command with its type and range, parsed by
 * commander. Parsing checks every value before any work is done (a bad value is a UsageError
 * naming the option, the value and what it must be); it loads no model, data or GPU, so
 * `glassbox <command> --help` answers at once. The commands read the result as ParsedArgs:
 * numbers as numbers, flags as `true`, everything else as strings.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { printable } from '../../datasets/printable.ts';

export type OptionValue = string | number | true;

export interface ParsedArgs {
  positional: string[];
  options: Record<string, OptionValue>;
}

/** Bad command-line input: the CLI prints it with a pointer to --help and exits with status 2. */
export class UsageError extends Error {}

export type OptionType = 'int' | 'number' | 'string' | 'flag';

export interface OptionSpec {
  name: string;
  type: OptionType;
  /** One line for --help; say the default there (some defaults depend on the model). */
  help: string;
  /** What the value is called in --help: `--out <dir>`. */
  placeholder?: string;
  /** Inclusive bounds of an 'int' or 'number'. */
  min?: number;
  max?: number;
  /** A 'number' must be more than `min` (not equal). */
  minExclusive?: boolean;
  /** The only values a 'string' may take. */
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  summary: string;
  options: readonly OptionSpec[];
}

/** Builders that keep the declarations one line each. */
export const int = (name: string, help: string, min: number, max: number, placeholder = 'n'): OptionSpec => ({ name, type: 'int', help, min, max, placeholder });
export const num = (name: string, help: string, range: { min: number; max: number; minExclusive?: boolean }, placeholder = 'x'): OptionSpec => ({ name, type: 'number', help, placeholder, ...range });
export const str = (name: string, help: string, placeholder = 'value', choices?: readonly string[]): OptionSpec => ({ name, type: 'string', help, placeholder, choices });
export const flag = (name: string, help: string): OptionSpec => ({ name, type: 'flag', help });

const WHOLE = /^[+-]?\d+$/;

function describeRange(spec: OptionSpec): string {
  const what = spec.type === 'int' ? 'a whole number' : 'a number';
  if (spec.max === undefined) return `${what} ${spec.minExclusive ? 'above' : 'of at least'} ${spec.min}`;
  return spec.minExclusive ? `${what} above ${spec.min} and at most ${spec.max}` : `${what} from ${spec.min} to ${spec.max}`;
}

/** The value of an option as the command reads it, or InvalidArgumentError saying what it must be. */
function parseValue(spec: OptionSpec, raw: string): OptionValue {
  if (spec.type === 'string') {
    if (raw.trim() === '') throw new InvalidArgumentError('It must not be empty.');
    return raw;
  }
  const n = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(n) &&
    (spec.type !== 'int' || (WHOLE.test(raw.trim()) && Number.isSafeInteger(n))) &&
    (spec.min === undefined || (spec.minExclusive ? n > spec.min : n >= spec.min)) &&
    (spec.max === undefined || n <= spec.max);
  if (!ok) throw new InvalidArgumentError(`It must be ${describeRange(spec)}.`);
  return n;
}

function toOption(spec: OptionSpec): Option {
  if (spec.type === 'flag') return new Option(`--${spec.name}`, spec.help);
  const range = spec.type === 'int' || spec.type === 'number' ? ` (${describeRange(spec)})` : '';
  const option = new Option(`--${spec.name} <${spec.placeholder ?? 'value'}>`, spec.help + range);
  if (spec.choices) return option.choices(spec.choices);
  return option.argParser((raw: string) => parseValue(spec, raw));
}

/** One parse's output, which the program's callbacks fill in. */
interface ParseState {
  help: string;
  chosen?: { command: string; args: ParsedArgs };
}

/**
 * A commander program for these commands. It throws instead of exiting and writes nothing: help
 * text and the chosen command go to `state`. Commander restores its state before each parse, so a
 * program is built once per command list and reused (building one takes about a millisecond).
 */
function program(commands: readonly CommandSpec[], state: ParseState, footer?: string): Command {
  const root = new Command('glassbox')
    .usage('<command> [options]')
    .description('tensors, autodiff and explanation methods on WebGPU')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (state.help += text), writeErr: () => {}, outputError: () => {} })
    .showSuggestionAfterError(true)
    .helpCommand('help [command]', 'show the help of a command');
  if (footer) root.addHelpText('after', `\n${footer}`);
  for (const spec of commands) {
    const cmd = root.command(spec.name).description(spec.summary).allowExcessArguments(true);
    for (const o of spec.options) cmd.addOption(toOption(o));
    cmd.action((_opts: unknown, self: Command) => {
      const [stray] = self.args;
      if (stray !== undefined) throw new UsageError(`unexpected argument '${printable(stray)}': ${spec.name} takes options only (--name value)`);
      const options: Record<string, OptionValue> = {};
      for (const o of spec.options) {
        const value = self.getOptionValue(new Option(`--${o.name}`).attributeName()) as OptionValue | undefined;
        if (value !== undefined) options[o.name] = value;
      }
      state.chosen = { command: spec.name, args: { positional: [], options } };
    });
  }
  return root;
}

const programs = new WeakMap<readonly CommandSpec[], { footer?: string; root: Command; state: ParseState }>();

function cachedProgram(commands: readonly CommandSpec[], footer?: string) {
  let p = programs.get(commands);
  if (!p || p.footer !== footer) {
    const state: ParseState = { help: '' };
    p = { footer, root: program(commands, state, footer), state };
    programs.set(commands, p);
  }
  p.state.help = '';
  p.state.chosen = undefined;
  return p;
}

export type CommandLine = { kind: 'help'; text: string } | { kind: 'run'; command: string; args: ParsedArgs };

/**
 * Parses `glassbox <command> [options]` (argv without node and the script). Returns the command
 * with its checked options, or the help text asked for (`--help`, `help [command]`, nothing at
 * all). Any other input throws UsageError; nothing else is thrown.
 */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[], footer?: string): CommandLine {
  const { root, state } = cachedProgram(commands, footer);
  if (argv.length === 0) {
    root.outputHelp(); // into state.help, with the text added after it
    return { kind: 'help', text: state.help };
  }
  try {
    root.parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    const helpCodes = ['commander.helpDisplayed', 'commander.help', 'commander.version'];
    if (helpCodes.includes(e.code) && e.exitCode === 0) return { kind: 'help', text: state.help };
    // `help <name>` for a name that is no command (commander then prints the main help as an error)
    if (e.code === 'commander.help') throw new UsageError(`no command '${printable(argv[1] ?? '')}' to show help for; known: ${commands.map((c) => c.name).join(', ')}`);
    // commander quotes what was typed: escape control characters so that it cannot drive the terminal
    throw new UsageError(e.message.replace(/^error: /, '').split('\n').map((line) => printable(line)).join('\n'));
  }
  if (!state.chosen) throw new UsageError(`no command given; known: ${commands.map((c) => c.name).join(', ')}`);
  return { kind: 'run', ...state.chosen };
}

/** The options of one command, from argv (its options only): what tests and `glassbox main` use to call a command. */
export function parseArgs(argv: readonly string[], options: readonly OptionSpec[]): ParsedArgs {
  const line = parseCommandLine(['command', ...argv], [{ name: 'command', summary: '', options }]);
  if (line.kind !== 'run') throw new UsageError('--help is not an option here');
  return line.args;
}

export function numberOption(o: ParsedArgs['options'], name: string, fallback: number): number {
  const v = o[name];
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  const n = Number(v);
  if (v === true || v.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} needs a number, got ${v === true ? 'nothing' : JSON.stringify(v)}`);
  return n;
}

export function stringOption(o: ParsedArgs['options'], name: string, fallback: string): string {
  const v = o[name];
  if (v === undefined) return fallback;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return String(v);
}
