/**
 * The folder a command writes (--out): every PNG and table it writes goes to the folder *and* into
 * the folder's report.html, so each command leaves PNG files, a JSON with every number and one page
 * that shows them together with their captions, and the report can never forget a picture the
 * command wrote. The report ends with the list of files and the command line that made them.
 *
 *   const output = new CommandOutput(out, 'PGD on LeNet-5');
 *   output.report.paragraph('what the pictures show');
 *   output.png('examples.png', grid, 'x, the perturbation amplified, x + delta');
 *   output.table('checks.md', rows, 'checks against gradient masking');
 *   output.json('attack.json', numbers);
 *   output.finish(); // writes report.html
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HtmlReport, type RGBAImage } from '../viz/index.ts';
import { writeJson, writePng, writeReport, writeText } from '../viz/files.ts';
import { markdownTable } from './report.ts';

export class CommandOutput {
  readonly report: HtmlReport;
  private readonly written: Array<{ name: string; what: string }> = [];

  constructor(
    readonly dir: string,
    title: string,
  ) {
    mkdirSync(dir, { recursive: true });
    this.report = new HtmlReport(title);
  }

  /** The path of a file in the folder. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Writes a PNG and shows it in the report (at its natural size: grids are already scaled), unless
   * `show` is false (one file per unit, say, when a grid of them all is shown).
   */
  png(name: string, image: RGBAImage, caption: string, show = true): void {
    writePng(this.path(name), image);
    if (show) this.report.image(image, { caption, alt: name });
    this.written.push({ name, what: caption });
  }

  /** Writes the JSON with the numbers (not shown in the report, which lists it). */
  json(name: string, data: unknown, what = 'every number, for scripts'): void {
    writeJson(this.path(name), data);
    this.written.push({ name, what });
  }

  /** A table in the report, and as Markdown in `name` when given; the first row is the header. */
  table(name: string | undefined, rows: readonly (readonly string[])[], caption: string): void {
    if (name) {
      writeText(this.path(name), `${markdownTable(rows)}\n`);
      this.written.push({ name, what: caption });
    }
    this.report.table(rows, { header: true, caption });
  }

  /** Lists the files and the command line, writes report.html, and returns its path. */
  finish(argv: readonly string[] = process.argv.slice(2)): string {
    this.report.section('Files');
    this.report.table([['file', 'what it holds'], ...this.written.map((f) => [f.name, f.what]), ['report.html', 'this page']], { header: true });
    this.report.pre(`glassbox ${argv.join(' ')}`);
    const file = this.path('report.html');
    writeReport(file, this.report);
    return file;
  }
}
