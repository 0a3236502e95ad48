/** The check every command's --out folder gets: report.html shows each named picture and lists each file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export function expectCommandReport(out: string, opts: { shown: readonly string[]; listed?: readonly string[] }): string {
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  for (const name of opts.shown) expect(html, `report.html shows ${name}`).toMatch(new RegExp(`<img src="data:image/png;base64,[^"]+" alt="${name.replace(/[.]/g, '\\.')}"`));
  for (const name of [...opts.shown, ...(opts.listed ?? [])]) expect(html, `report.html lists ${name}`).toContain(`<td>${name}</td>`);
  expect(html, 'nothing fetched from outside the file').not.toMatch(/(src|href)="https?:/);
  return html;
}
