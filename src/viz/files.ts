/**
 * Writing pictures and numbers to disk (Node only: node:fs). Every write is atomic (a
 * temporary file in the same folder, then a rename), so a crashed or concurrent run never
 * leaves a half-written file, and missing folders are created.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { asImage, type RGBAImage } from './image.ts';
import { decodePng, encodePng } from './png.ts';

function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes an image (or RGBA bytes with their size) as a PNG file. */
export function writePng(path: string, img: RGBAImage): void;
export function writePng(path: string, rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): void;
export function writePng(path: string, a: RGBAImage | Uint8Array | Uint8ClampedArray, w?: number, h?: number): void {
  writeAtomic(path, encodePng('data' in a ? a : asImage(a, w!, h!)));
}

/** Reads a PNG file as 8-bit RGBA (any colour type / bit depth / interlacing). */
export function readPng(path: string): RGBAImage {
  return decodePng(new Uint8Array(readFileSync(path)));
}

/** Pretty JSON (2 spaces); typed arrays become plain arrays, non-finite numbers become null. */
export function writeJson(path: string, obj: unknown): void {
  const json = JSON.stringify(obj, (_k, v: unknown) => (ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v), 2);
  writeAtomic(path, json + '\n');
}

export function writeHtml(path: string, html: string): void {
  writeAtomic(path, html);
}
