/**
 * A small reader for (uncompressed) tar archives: ustar, with GNU long names
 * ('L') and pax extended headers ('x', path only). Enough for the CIFAR-10
 * tarball; gunzip it first (node:zlib).
 */
import { DatasetFormatError } from './errors.ts';
import { printable } from './printable.ts';

export interface TarEntry {
  name: string;
  /** 'file' for regular files ('0' or NUL type flag), 'dir' for '5', else 'other'. */
  type: 'file' | 'dir' | 'other';
  /** The entry's contents (a view into the archive bytes). */
  data: Uint8Array;
}

const BLOCK = 512;

function cstring(bytes: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(start, end));
}

function octal(bytes: Uint8Array, start: number, len: number, file: string, what: string): number {
  // GNU base-256 encoding for big numbers: high bit of the first byte set.
  if (bytes[start]! & 0x80) {
    let v = bytes[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + bytes[i]!;
    return v;
  }
  const s = cstring(bytes, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new DatasetFormatError(file, 'corrupt', `tar header field ${what} is not octal: ${printable(JSON.stringify(s))}`);
  return parseInt(s, 8);
}

/** Parse all entries of a tar archive. `file` is used in error messages. */
export function readTar(bytes: Uint8Array, file = '<tar>'): TarEntry[] {
  const entries: TarEntry[] = [];
  let pos = 0;
  let longName: string | undefined;
  while (pos + BLOCK <= bytes.length) {
    const header = bytes.subarray(pos, pos + BLOCK);
    if (header.every((b) => b === 0)) return entries; // end-of-archive marker
    // Header checksum: sum of all header bytes with the checksum field counted as spaces.
    const stored = octal(header, 148, 8, file, 'checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) {
      throw new DatasetFormatError(file, entries.length === 0 ? 'wrong-format' : 'corrupt',
        `bad tar header checksum at byte ${pos} (stored ${stored}, computed ${sum})${entries.length === 0 ? ': not a tar archive' : ''}`);
    }
    const size = octal(header, 124, 12, file, 'size');
    const flag = String.fromCharCode(header[156]!);
    let name = cstring(header, 0, 100);
    if (cstring(header, 257, 6) === 'ustar') {
      const prefix = cstring(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const dataStart = pos + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > bytes.length) {
      throw new DatasetFormatError(file, 'truncated', `tar entry ${printable(JSON.stringify(longName ?? name))} needs ${size} bytes, only ${bytes.length - dataStart} left`);
    }
    const data = bytes.subarray(dataStart, dataEnd);
    pos = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'L') { // GNU long name for the next entry
      longName = cstring(data, 0, data.length);
      continue;
    }
    if (flag === 'x') { // pax extended header: take the path record if present
      const text = new TextDecoder().decode(data);
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
      if (m) longName = m[1];
      continue;
    }
    if (flag === 'g') continue; // pax global header
    const type = flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : 'other';
    entries.push({ name: longName ?? name, type, data });
    longName = undefined;
  }
  if (pos < bytes.length || entries.length === 0) {
    throw new DatasetFormatError(file, 'truncated', `tar archive ends inside a header (at byte ${pos} of ${bytes.length})`);
  }
  return entries; // no end-of-archive blocks: accept what was read
}
