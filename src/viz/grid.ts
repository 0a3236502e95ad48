/**
 * A labelled grid of tiles in one image: filters of a layer, a method x image comparison,
 * a per-unit panel of top patches. Cells are as large as the largest tile (and its title);
 * smaller tiles are centred.
 *
 *   +---------------- title ----------------+
 *   |        col title   col title          |
 *   | row    [tile]      [tile]     ...     |
 *   | title  tile title  tile title         |
 */
import { blit, createImage, upscale, type Color, type RGBAImage } from './image.ts';
import { drawText, fitText, measureText } from './font.ts';

export interface GridOptions {
  /** Tiles per row (default: ceil(sqrt(n))). */
  cols?: number;
  /** Pixels between and around cells (default 4). */
  padding?: number;
  /** Integer upscaling applied to every tile (nearest; default 1), e.g. 4 for 28x28 digits. */
  tileScale?: number;
  /** A caption under each tile, row-major like the tiles. */
  tileTitles?: readonly (string | undefined)[];
  /** A label left of each row. */
  rowTitles?: readonly string[];
  /** A label above each column. */
  colTitles?: readonly string[];
  /** A title over the whole grid. */
  title?: string;
  /** Font scale (default 1; the title uses twice this). */
  textScale?: number;
  background?: Color;
  textColor?: Color;
  /** Cap on the width of a tile caption in pixels (default: the tile's width, or 160); longer ones are shortened with '..'. */
  maxTitleWidth?: number;
}

/** Lays tiles out row-major; `null` leaves a cell empty. */
export function makeGrid(tiles: readonly (RGBAImage | null | undefined)[], opts: GridOptions = {}): RGBAImage {
  const n = tiles.length;
  if (n === 0) throw new Error('makeGrid: no tiles');
  const cols = Math.max(1, opts.cols ?? Math.ceil(Math.sqrt(n)));
  const rows = Math.ceil(n / cols);
  const pad = opts.padding ?? 4;
  const ts = opts.textScale ?? 1;
  const textColor = opts.textColor ?? [0, 0, 0];
  const scaled = tiles.map((t) => (t ? upscale(t, opts.tileScale ?? 1) : null));

  const tileW = Math.max(1, ...scaled.map((t) => t?.width ?? 0));
  const tileH = Math.max(1, ...scaled.map((t) => t?.height ?? 0));
  const maxTitleW = opts.maxTitleWidth ?? Math.max(tileW, 160);
  const titles = (opts.tileTitles ?? []).map((t) => (t ? fitText(t, maxTitleW, ts) : ''));
  const colTitles = (opts.colTitles ?? []).map((t) => fitText(t, maxTitleW, ts));
  const textH = measureText('X', ts).height;
  const cellW = Math.max(tileW, ...titles.map((t) => measureText(t, ts).width), ...colTitles.map((t) => measureText(t, ts).width));
  const captionH = titles.some((t) => t) ? textH + 3 : 0;
  const cellH = tileH + captionH;
  const rowTitleW = opts.rowTitles?.length ? Math.max(...opts.rowTitles.map((t) => measureText(t, ts).width)) + pad : 0;
  const colTitleH = colTitles.length ? textH + pad : 0;
  const titleH = opts.title ? measureText(opts.title, 2 * ts).height + 2 * pad : 0;

  const gridW = rowTitleW + cols * cellW + (cols + 1) * pad;
  const W = Math.max(gridW, opts.title ? measureText(opts.title, 2 * ts).width + 2 * pad : 0);
  const H = titleH + colTitleH + rows * cellH + (rows + 1) * pad;
  const img = createImage(W, H, opts.background ?? [255, 255, 255]);
  const left = Math.floor((W - gridW) / 2);

  if (opts.title) drawText(img, opts.title, Math.floor((W - measureText(opts.title, 2 * ts).width) / 2), pad, { scale: 2 * ts, color: textColor });
  const cellX = (c: number): number => left + rowTitleW + pad + c * (cellW + pad);
  const cellY = (r: number): number => titleH + colTitleH + pad + r * (cellH + pad);
  colTitles.forEach((t, c) => {
    if (c < cols) drawText(img, t, cellX(c) + Math.floor((cellW - measureText(t, ts).width) / 2), titleH + pad, { scale: ts, color: textColor });
  });
  opts.rowTitles?.forEach((t, r) => {
    if (r < rows) drawText(img, t, left + pad, cellY(r) + Math.floor((tileH - textH) / 2), { scale: ts, color: textColor });
  });
  scaled.forEach((tile, i) => {
    const r = Math.floor(i / cols);
    const c = i % cols;
    if (tile) blit(img, tile, cellX(c) + Math.floor((cellW - tile.width) / 2), cellY(r) + Math.floor((tileH - tile.height) / 2));
    const t = titles[i];
    if (t) drawText(img, t, cellX(c) + Math.floor((cellW - measureText(t, ts).width) / 2), cellY(r) + tileH + 3, { scale: ts, color: textColor });
  });
  return img;
}
