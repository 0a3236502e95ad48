/**
 * A tiny built-in bitmap font (5x7 glyphs in a 5x8 cell, row 7 for descenders) for printable
 * ASCII 32..126, in the style of the HD44780 LCD character set. Each glyph is 8 rows of 5 bits,
 * one base-32 digit per row (the most significant bit is the leftmost pixel).
 * Characters outside the set are drawn as '?'.
 */
import { blendPixel, type Color, type RGBAImage } from './image.ts';

const GLYPHS =
  '0000000044444040aaa00000aavavaa04fke5u40op248j30cik8lid044800000248884208422248004lel400044v44000000c480000v000000000cc001248g00ehjlphe04c4444e0eh1248v0v2421he026aiv220vgu11he068guhhe0v1248880ehhehhe0ehhf12c00cc0cc000cc0c480248g842000v0v00084212480eh124040eh1dlle0ehhvhhh0uhhuhhu0ehggghe0sihhhis0vgguggv0vgguggg0ehgnhhf0hhhvhhh0e44444e072222ic0hikokih0ggggggv0hrllhhh0hhpljhh0ehhh' +
  'hhe0uhhuggg0ehhhlid0uhhukih0fgge11u0v4444440hhhhhhe0hhhhha40hhhllla0hha4ahh0hhha4440v1248gv0e88888e00g842100e22222e04ah00000000000v08420000000e1fhf0ggmphhu000egghe011djhhf000ehvge0698s888000fhhf1eggmphhh040c444e0206222icggikoki0c44444e000qllhh000mphhh000ehhhe000uhhugg00fhhf1100mpggg000fge1u088s8896000hhhjd000hhha4000hhlla000ha4ah000hhhf1e00v248v0244844204444444084424480008l2000';

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** Horizontal advance per character and line height, in font pixels (before scaling). */
export const ADVANCE = 6;
export const LINE_HEIGHT = 10;

function glyphRows(ch: string): number[] {
  let code = ch.charCodeAt(0);
  if (code < 32 || code > 126) code = 63; // '?'
  const base = (code - 32) * GLYPH_HEIGHT;
  return Array.from({ length: GLYPH_HEIGHT }, (_, r) => parseInt(GLYPHS[base + r]!, 32));
}

/** Size in pixels of a (possibly multi-line) text at an integer scale. */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const lines = text.split('\n');
  const cols = Math.max(...lines.map((l) => l.length));
  return { width: cols > 0 ? (cols * ADVANCE - 1) * scale : 0, height: (lines.length * LINE_HEIGHT - (LINE_HEIGHT - GLYPH_HEIGHT)) * scale };
}

export interface TextOptions {
  color?: Color;
  /** Integer pixel scale (default 1: 5x7 letters). */
  scale?: number;
  /** Draw rotated 90 degrees counter-clockwise (reading upwards), e.g. for a y-axis label; (x, y) is then the top-left corner of the rotated box. */
  vertical?: boolean;
}

/** Draws text with its top-left corner at (x, y). */
export function drawText(img: RGBAImage, text: string, x: number, y: number, opts: TextOptions = {}): void {
  const color = opts.color ?? [0, 0, 0];
  const s = Math.max(1, Math.round(opts.scale ?? 1));
  const { width: w } = measureText(text, s);
  const lines = text.split('\n');
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    for (let ci = 0; ci < line.length; ci++) {
      const rows = glyphRows(line[ci]!);
      for (let r = 0; r < GLYPH_HEIGHT; r++) {
        for (let c = 0; c < GLYPH_WIDTH; c++) {
          if (!((rows[r]! >> (GLYPH_WIDTH - 1 - c)) & 1)) continue;
          // (u, v): pixel position in the unrotated text box.
          const u = (ci * ADVANCE + c) * s;
          const v = (li * LINE_HEIGHT + r) * s;
          for (let dy = 0; dy < s; dy++)
            for (let dx = 0; dx < s; dx++) {
              if (opts.vertical) blendPixel(img, Math.round(x) + v + dy, Math.round(y) + w - 1 - (u + dx), color);
              else blendPixel(img, Math.round(x) + u + dx, Math.round(y) + v + dy, color);
            }
        }
      }
    }
  }
}

/** Shortens text with '..' so that it fits in maxWidth pixels at the given scale. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  const maxChars = Math.floor((maxWidth / scale + 1) / ADVANCE);
  if (text.length <= maxChars) return text;
  return maxChars <= 2 ? text.slice(0, Math.max(0, maxChars)) : text.slice(0, maxChars - 2) + '..';
}
