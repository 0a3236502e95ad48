/** PNG files built chunk by chunk, with correct lengths and CRCs, for tests that need files no encoder writes. */
export type Chunk = [type: string | readonly number[], body: ArrayLike<number>];

export function crc32(bytes: ArrayLike<number>): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c ^= bytes[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** The signature, then each chunk as length, type, body and CRC (a type may be raw bytes, for names no encoder writes). */
export function buildPng(chunks: readonly Chunk[]): Uint8Array {
  const parts: number[] = [137, 80, 78, 71, 13, 10, 26, 10];
  for (const [type, body] of chunks) {
    const typed = typeof type === 'string' ? [...type].map((c) => c.charCodeAt(0)) : [...type];
    const len = body.length;
    const payload = typed.concat(Array.from(body));
    const c = crc32(payload);
    parts.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
    for (const b of payload) parts.push(b); // no spread: bodies can exceed the argument limit
    parts.push(c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255);
  }
  return Uint8Array.from(parts);
}

/** The chunks of a PNG file (no checks: for taking valid files apart). */
export function splitPng(png: Uint8Array): Chunk[] {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: Chunk[] = [];
  for (let o = 8; o + 12 <= png.length; ) {
    const len = dv.getUint32(o);
    chunks.push([Array.from(png.subarray(o + 4, o + 8)), png.subarray(o + 8, o + 8 + len)]);
    o += 12 + len;
  }
  return chunks;
}

/** IHDR's 13 bytes. */
export function ihdr(width: number, height: number, depth = 8, colorType = 6, interlace = 0): number[] {
  const be = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  return [...be(width), ...be(height), depth, colorType, 0, 0, interlace];
}
