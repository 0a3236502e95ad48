/**
 * zlib streams (RFC 1950) around DEFLATE (RFC 1951), in plain TypeScript so that PNG
 * encoding and decoding work in Node and in a browser alike (pngjs pulls in Node's zlib).
 *
 * - `inflate`: the full decoder (stored, fixed-Huffman and dynamic-Huffman blocks). Each
 *   Huffman code becomes a lookup table indexed by the next `maxLen` input bits (bit-reversed,
 *   since DEFLATE packs Huffman codes most-significant bit first into an LSB-first stream).
 * - `deflate`: LZ77 with hash chains (32 KiB window, matches of 3..258 bytes) and the fixed
 *   Huffman code, one block. Simple and plenty for PNG rows, which filtering turns into long
 *   runs of small values.
 */

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** Order in which a dynamic block lists the code lengths of its code-length alphabet. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Code lengths of the fixed literal/length code (RFC 1951 sec. 3.2.6). */
function fixedLitLengths(): Uint8Array {
  const l = new Uint8Array(288);
  l.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
  return l;
}

function reverseBits(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) r = (r << 1) | ((code >>> i) & 1);
  return r;
}

/** Canonical Huffman codes from code lengths: code[i] for symbol i (RFC 1951 sec. 3.2.2). */
function canonicalCodes(lengths: ArrayLike<number>): Uint16Array {
  const count = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) count[lengths[i]!]!++;
  count[0] = 0;
  const next = new Uint16Array(16);
  for (let len = 1, code = 0; len < 16; len++) {
    code = (code + count[len - 1]!) << 1;
    next[len] = code;
  }
  const codes = new Uint16Array(lengths.length);
  for (let i = 0; i < lengths.length; i++) if (lengths[i]) codes[i] = next[lengths[i]!]!++;
  return codes;
}

interface DecodeTable {
  /** Indexed by the next `bits` input bits: (symbol << 4) | code length, 0 where no code. */
  table: Uint32Array;
  bits: number;
}

function decodeTable(lengths: ArrayLike<number>): DecodeTable {
  let bits = 1;
  for (let i = 0; i < lengths.length; i++) bits = Math.max(bits, lengths[i]!);
  const codes = canonicalCodes(lengths);
  const table = new Uint32Array(1 << bits);
  for (let sym = 0; sym < lengths.length; sym++) {
    const len = lengths[sym]!;
    if (!len) continue;
    for (let j = reverseBits(codes[sym]!, len); j < table.length; j += 1 << len) table[j] = (sym << 4) | len;
  }
  return { table, bits };
}

let fixedTables: { lit: DecodeTable; dist: DecodeTable } | undefined;

/** Decompresses a zlib stream. `sizeHint` (the expected output size) avoids regrowing. */
export function inflate(data: Uint8Array, sizeHint = 0): Uint8Array {
  if (data.length < 6) throw new Error('inflate: stream too short');
  const cmf = data[0]!;
  const flg = data[1]!;
  if ((cmf & 15) !== 8 || ((cmf << 8) | flg) % 31 !== 0) throw new Error('inflate: not a zlib/deflate stream');
  if (flg & 32) throw new Error('inflate: preset dictionaries are not supported');
  const { out, end } = inflateRaw(data, 2, sizeHint);
  if (end + 4 <= data.length) {
    const stored = ((data[end]! << 24) | (data[end + 1]! << 16) | (data[end + 2]! << 8) | data[end + 3]!) >>> 0;
    if (stored !== adler32(out)) throw new Error('inflate: Adler-32 checksum mismatch');
  }
  return out;
}

/** Decompresses raw DEFLATE data from `start`; returns the output and the byte after the last block. */
export function inflateRaw(data: Uint8Array, start = 0, sizeHint = 0): { out: Uint8Array; end: number } {
  let pos = start;
  let bitBuf = 0;
  let bitCnt = 0;
  let out = new Uint8Array(Math.max(sizeHint, 1024));
  let n = 0;

  const need = (k: number): void => {
    while (bitCnt < k) {
      if (pos >= data.length + 4) throw new Error('inflate: unexpected end of data');
      bitBuf |= (pos < data.length ? data[pos]! : 0) << bitCnt;
      pos++;
      bitCnt += 8;
    }
  };
  const bits = (k: number): number => {
    need(k);
    const v = bitBuf & ((1 << k) - 1);
    bitBuf >>>= k;
    bitCnt -= k;
    return v;
  };
  const symbol = (t: DecodeTable): number => {
    need(t.bits);
    const e = t.table[bitBuf & ((1 << t.bits) - 1)]!;
    if (e === 0) throw new Error('inflate: invalid Huffman code');
    const len = e & 15;
    bitBuf >>>= len;
    bitCnt -= len;
    return e >>> 4;
  };
  const reserve = (k: number): void => {
    if (n + k <= out.length) return;
    const grown = new Uint8Array(Math.max(out.length * 2, n + k));
    grown.set(out.subarray(0, n));
    out = grown;
  };

  let final = 0;
  while (!final) {
    final = bits(1);
    const type = bits(2);
    if (type === 0) {
      // Stored block: realign to a byte boundary, giving back whole bytes already buffered.
      bitBuf >>>= bitCnt & 7;
      bitCnt -= bitCnt & 7;
      pos -= bitCnt >> 3;
      bitBuf = 0;
      bitCnt = 0;
      if (pos + 4 > data.length) throw new Error('inflate: unexpected end of data');
      const len = data[pos]! | (data[pos + 1]! << 8);
      const nlen = data[pos + 2]! | (data[pos + 3]! << 8);
      if ((len ^ 0xffff) !== nlen) throw new Error('inflate: corrupt stored block');
      pos += 4;
      if (pos + len > data.length) throw new Error('inflate: unexpected end of data');
      reserve(len);
      out.set(data.subarray(pos, pos + len), n);
      n += len;
      pos += len;
      continue;
    }
    let lit: DecodeTable;
    let dist: DecodeTable;
    if (type === 1) {
      fixedTables ??= { lit: decodeTable(fixedLitLengths()), dist: decodeTable(new Uint8Array(30).fill(5)) };
      ({ lit, dist } = fixedTables);
    } else if (type === 2) {
      const nlit = bits(5) + 257;
      const ndist = bits(5) + 1;
      const nclen = bits(4) + 4;
      const clen = new Uint8Array(19);
      for (let i = 0; i < nclen; i++) clen[CLEN_ORDER[i]!] = bits(3);
      const clTable = decodeTable(clen);
      const lengths = new Uint8Array(nlit + ndist);
      for (let i = 0; i < lengths.length; ) {
        const sym = symbol(clTable);
        if (sym < 16) {
          lengths[i++] = sym;
          continue;
        }
        let value = 0;
        let repeat: number;
        if (sym === 16) {
          if (i === 0) throw new Error('inflate: repeat with no previous length');
          value = lengths[i - 1]!;
          repeat = 3 + bits(2);
        } else repeat = sym === 17 ? 3 + bits(3) : 11 + bits(7);
        if (i + repeat > lengths.length) throw new Error('inflate: too many code lengths');
        lengths.fill(value, i, i + repeat);
        i += repeat;
      }
      lit = decodeTable(lengths.subarray(0, nlit));
      dist = decodeTable(lengths.subarray(nlit));
    } else throw new Error('inflate: invalid block type 3');

    for (;;) {
      const sym = symbol(lit);
      if (sym < 256) {
        reserve(1);
        out[n++] = sym;
      } else if (sym === 256) break;
      else {
        const li = sym - 257;
        if (li >= 29) throw new Error('inflate: invalid length symbol');
        const len = LEN_BASE[li]! + bits(LEN_EXTRA[li]!);
        const di = symbol(dist);
        if (di >= 30) throw new Error('inflate: invalid distance symbol');
        const d = DIST_BASE[di]! + bits(DIST_EXTRA[di]!);
        if (d > n) throw new Error('inflate: distance too far back');
        reserve(len);
        for (let k = 0; k < len; k++, n++) out[n] = out[n - d]!; // overlapping copies repeat
      }
    }
  }
  // Whole bytes still buffered were read ahead of the end of the last block.
  return { out: out.length === n ? out : out.slice(0, n), end: pos - (bitCnt >> 3) };
}

/** Compresses into a zlib stream (LZ77 + fixed Huffman code, one final block). */
export function deflate(data: Uint8Array): Uint8Array {
  const w = new BitWriter(data.length / 2 + 64);
  w.byte(0x78);
  w.byte(0x01); // CMF/FLG: deflate, 32 KiB window, no dictionary; 0x7801 % 31 === 0
  w.bits(1, 1); // BFINAL
  w.bits(1, 2); // BTYPE = fixed Huffman

  const litLen = fixedLitLengths();
  const litCodes = canonicalCodes(litLen);
  const litRev = new Uint16Array(288);
  for (let s = 0; s < 288; s++) litRev[s] = reverseBits(litCodes[s]!, litLen[s]!);
  const lit = (s: number): void => w.bits(litRev[s]!, litLen[s]!);

  const lenSym = new Uint8Array(259); // match length -> index into LEN_BASE
  for (let i = 0; i < 29; i++) for (let l = LEN_BASE[i]!; l < (i < 28 ? LEN_BASE[i + 1]! : 259); l++) lenSym[l] = i;

  const WINDOW = 32768;
  const MAX_CHAIN = 48;
  const head = new Int32Array(1 << 15).fill(-1);
  const prev = new Int32Array(WINDOW);
  const hashAt = (i: number): number => ((data[i]! << 10) ^ (data[i + 1]! << 5) ^ data[i + 2]!) & 0x7fff;
  const insert = (i: number): void => {
    const h = hashAt(i);
    prev[i & (WINDOW - 1)] = head[h]!;
    head[h] = i;
  };

  const n = data.length;
  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    if (i + 2 < n) {
      const maxLen = Math.min(258, n - i);
      let cand = head[hashAt(i)]!;
      for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < MAX_CHAIN; chain++) {
        if (data[cand + bestLen] === data[i + bestLen]) {
          let len = 0;
          while (len < maxLen && data[cand + len] === data[i + len]) len++;
          if (len > bestLen) {
            bestLen = len;
            bestDist = i - cand;
            if (len === maxLen) break;
          }
        }
        cand = prev[cand & (WINDOW - 1)]!;
      }
      insert(i);
    }
    if (bestLen >= 3) {
      const li = lenSym[bestLen]!;
      lit(257 + li);
      w.bits(bestLen - LEN_BASE[li]!, LEN_EXTRA[li]!);
      let di = 29;
      while (DIST_BASE[di]! > bestDist) di--;
      w.bits(reverseBits(di, 5), 5);
      w.bits(bestDist - DIST_BASE[di]!, DIST_EXTRA[di]!);
      for (let k = 1; k < bestLen; k++) if (i + k + 2 < n) insert(i + k);
      i += bestLen;
    } else lit(data[i++]!);
  }
  lit(256);
  w.flush();
  const a = adler32(data);
  w.byte(a >>> 24);
  w.byte((a >>> 16) & 255);
  w.byte((a >>> 8) & 255);
  w.byte(a & 255);
  return w.result();
}

/** An LSB-first bit stream into a growing byte array. */
class BitWriter {
  private buf: Uint8Array;
  private n = 0;
  private acc = 0;
  private cnt = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, Math.ceil(capacity)));
  }
  byte(b: number): void {
    if (this.n === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.n++] = b;
  }
  bits(value: number, count: number): void {
    this.acc |= value << this.cnt;
    this.cnt += count;
    while (this.cnt >= 8) {
      this.byte(this.acc & 255);
      this.acc >>>= 8;
      this.cnt -= 8;
    }
  }
  flush(): void {
    if (this.cnt > 0) this.byte(this.acc & 255);
    this.acc = 0;
    this.cnt = 0;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}

export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length); // largest run before the sums can overflow
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}
