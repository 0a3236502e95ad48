/**
 * The CLI's argument parser under 10,000 random command lines (fast-check): each one either
 * parses, into options that each satisfy their declared type and range, or throws the CLI's
 * UsageError; never any other error. No GPU: parsing must not need one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError, type OptionSpec, type OptionValue } from '../src/cli/args.ts';
import { COMMANDS } from '../src/cli/options.ts';

const optionNames = [...new Set(COMMANDS.flatMap((c) => c.options.map((o) => o.name)))];
const choices = [...new Set(COMMANDS.flatMap((c) => c.options.flatMap((o) => o.choices ?? [])))];

/** Tokens a person (or a script gone wrong) might type, weighted towards the plausible. */
const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...optionNames.map((n) => `--${n}`)) },
  { weight: 1, arbitrary: fc.constantFrom('--help', '-h', '--', '-', '--=', '---x', '-x', 'help', ...COMMANDS.map((c) => c.name)) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: -5, max: 100_000 }), fc.double({ noNaN: false })).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '0', '1e15', '1.5', '-0', '0x10', 'NaN', 'Infinity', '9007199254740993', ...choices) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...optionNames), fc.string()).map(([n, v]) => `--${n}=${v}`) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);
const argv = fc.tuple(fc.constantFrom(...COMMANDS.map((c) => c.name), 'help', 'trian', '--help'), fc.array(token, { maxLength: 8 })).map(([first, rest]) => [first, ...rest]);

/** The value a successful parse gave an option obeys the option's declaration. */
function obeys(spec: OptionSpec, value: OptionValue): boolean {
  switch (spec.type) {
    case 'flag':
      return value === true;
    case 'string':
      return typeof value === 'string' && value.trim() !== '' && (!spec.choices || spec.choices.includes(value));
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (spec.type === 'int' && !Number.isSafeInteger(value)) return false;
      const aboveMin = spec.min === undefined || (spec.minExclusive ? value > spec.min : value >= spec.min);
      return aboveMin && (spec.max === undefined || value <= spec.max);
    }
  }
}

describe('CLI argument parser', () => {
  it('parses or throws UsageError on 10,000 random command lines, never anything else', () => {
    let parsed = 0;
    fc.assert(
      fc.property(argv, (args) => {
        let line;
        try {
          line = parseCommandLine(args, COMMANDS);
        } catch (e) {
          expect(e, `argv ${JSON.stringify(args)} threw ${String(e)}`).toBeInstanceOf(UsageError);
          expect((e as Error).message.length).toBeGreaterThan(0);
          // what was typed is echoed escaped: no control character but the line breaks between sentences
          expect((e as Error).message).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
          return;
        }
        if (line.kind === 'help') return void expect(line.text).toMatch(/Usage: glassbox/);
        parsed++;
        const spec = COMMANDS.find((c) => c.name === line.command)!;
        expect(line.args.positional).toEqual([]);
        for (const [name, value] of Object.entries(line.args.options)) {
          const option = spec.options.find((o) => o.name === name);
          expect(option, `${line.command} got an undeclared option --${name}`).toBeDefined();
          expect(obeys(option!, value), `--${name} ${JSON.stringify(value)} from ${JSON.stringify(args)}`).toBe(true);
          // and it was given in this command line (the parser is reused: nothing may carry over)
          expect(args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))).toBe(true);
        }
      }),
      { numRuns: 10_000, seed: 22 },
    );
    // the generator reaches real parses, not only errors
    expect(parsed).toBeGreaterThan(100);
  });
});
