import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandOutput } from '../src/cli/command-output.ts';
import { createImage } from '../src/viz/index.ts';
import { expectCommandReport } from './command-report.ts';

const dir = mkdtempSync(join(tmpdir(), 'glassbox-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CommandOutput: the files of a command and its report.html', () => {
  it('writes every file, shows the pictures it was asked to show, and lists all of them', () => {
    const output = new CommandOutput(join(dir, 'run'), 'a <test> report');
    output.report.paragraph('what the pictures show');
    output.png('grid.png', createImage(6, 4, [255, 0, 0, 255]), 'a red grid');
    output.png('unit-3.png', createImage(2, 2, [0, 0, 255, 255]), 'one unit', false);
    output.table('table.md', [['layer', 'score'], ['features.4', '0.5']], 'scores per layer');
    output.json('numbers.json', { score: 0.5, curve: new Float32Array([1, 2]) });
    const file = output.finish(['dissect', '--layer', 'features.4']);

    expect(file).toBe(join(dir, 'run', 'report.html'));
    for (const f of ['grid.png', 'unit-3.png', 'table.md', 'numbers.json']) expect(existsSync(join(dir, 'run', f)), f).toBe(true);
    expect(readFileSync(join(dir, 'run', 'table.md'), 'utf8')).toBe('| layer | score |\n| --- | --- |\n| features.4 | 0.5 |\n');
    expect(JSON.parse(readFileSync(join(dir, 'run', 'numbers.json'), 'utf8'))).toEqual({ score: 0.5, curve: [1, 2] });
    const html = expectCommandReport(join(dir, 'run'), { shown: ['grid.png'], listed: ['unit-3.png', 'table.md', 'numbers.json'] });
    expect(html).not.toContain('alt="unit-3.png"');
    expect(html).toContain('&lt;test&gt;');
    expect(html).toContain('<td>features.4</td>');
    expect(html).toContain('glassbox dissect --layer features.4');
  });
});
