// A block of the decision log: many rows as one JSON text, written to SQLite as one value, so a row
// costs the writer a few bytes copied instead of an insert (bench/README.md) while staying readable with
// SQLite's own JSON functions (the `decisions` view, row.ts). The text is UTF-8 written byte by byte from
// the batches' numbers and UTF-16 ids; an id that JSON must escape, or that is not ASCII, is decoded and
// goes through `JSON.stringify`, so every block is valid JSON whatever the ids hold (a lone surrogate
// becomes U+FFFD, as it would in any UTF-8 text).
//
// A row is an array of the fields of row.ts in order: an id as a string, a time as ms after the block's
// base time (its first row's), a name as an index into the block's names, the outcome as 0/1, the latency
// in whole ns, then the `json` fields up to the last one the row has.
import type { LogBatch } from './batch.js';
import { buildFilter, hashUnits } from './id-filter.js';
import { NUMBER_FIELDS, NUMBERS_PER_ROW } from './row.js';
import { codeOf } from './name-codes.js';

export interface LogBlock {
  rows: number;
  /** The first row's time, which rows' times are relative to, and the earliest and latest (ms since the epoch). */
  baseTime: number;
  firstTime: number;
  lastTime: number;
  /** JSON array of the names the rows' codes index. */
  names: string;
  /** UTF-8 JSON text of the rows. */
  data: Uint8Array;
  /** A filter of the principal and resource ids the rows hold (id-filter.ts). */
  ids: Uint8Array;
}

const COMMA = 44;
const QUOTE = 34;
const OPEN = 91;
const CLOSE = 93;
const DIGIT_0 = 48;
const DIGIT_1 = 49;
const utf8 = new TextEncoder();
const utf16 = new TextDecoder('utf-16le');
/** 1 for the code units JSON writes as they are in ASCII (no control character, quote or backslash). */
const PLAIN = new Uint8Array(0x80);
for (let c = 0x20; c < 0x80; c++) PLAIN[c] = c === QUOTE || c === 92 ? 0 : 1;

/**
 * Writes a row's fields from its numbers (row.ts), each a JSON value after a comma but the first:
 * straight-line code made once from the table, each field its own step (a loop that switches on the
 * fields' kinds costs the writer more: bench/README.md). Ids advance `e.cut`; filtered ids add their
 * hash at `e.hashed`.
 */
const writeFields = new Function(
  'int',
  'nanoseconds',
  'hashUnits',
  `return (e, n, at, ids, out, o) => {
  let v;
  let cut = e.cut;
  let hashed = e.hashed;
${NUMBER_FIELDS.map((f, i) => {
  const step = {
    id: `${'filter' in f && f.filter ? `e.hashes[hashed++] = hashUnits(ids, cut, cut + v, '${f.filter}');\n  ` : ''}o = e.id(ids, cut, (cut += v), o);`,
    name: 'o = int(out, o, e.recode[v]);',
    time: 'o = int(out, o, e.time(v));',
    outcome: `out[o++] = v === 1 ? ${DIGIT_1} : ${DIGIT_0};`,
    latency: 'o = int(out, o, nanoseconds(v));',
    json: '',
  }[f.kind];
  return `${i > 0 ? `  out[o++] = ${COMMA};\n` : ''}  v = n[at + ${i}];\n  ${step}`;
}).join('\n')}
  e.cut = cut;
  e.hashed = hashed;
  return o;
}`,
)(int, nanoseconds, hashUnits) as (
  e: BlockEncoder,
  n: Float64Array,
  at: number,
  ids: Uint16Array,
  out: Uint8Array,
  o: number,
) => number;
/** Ids a row puts in the block's filter. */
const FILTERED = NUMBER_FIELDS.filter((f) => 'filter' in f && f.filter).length;
const ID_SLOTS = [...NUMBER_FIELDS.keys()].filter((i) => NUMBER_FIELDS[i]!.kind === 'id');

/** Splits batches into blocks of at most `maxRows` rows, in order. */
export function encodeBlocks(batches: readonly LogBatch[], maxRows: number): LogBlock[] {
  const blocks: LogBlock[] = [];
  const encoder = reusable ?? new BlockEncoder();
  reusable = undefined; // taken while in use
  for (const batch of batches) {
    let cut = 0;
    let extra = 0;
    for (let row = 0; row < batch.rows; row++) {
      const more = batch.extras[extra]?.[0] === row ? batch.extras[extra++] : undefined;
      cut = encoder.add(batch, row, cut, more);
      if (encoder.rows === maxRows) blocks.push(encoder.take());
    }
  }
  if (encoder.rows > 0) blocks.push(encoder.take());
  if (encoder.keepable()) reusable = encoder;
  return blocks;
}

/**
 * The encoder of the last call, with the output buffer it grew: a writer encodes a flush's worth of
 * blocks of about the same size every time, and growing a new buffer each time (zeroed, copied as it
 * doubles) cost the writer more than the block's hash.
 */
let reusable: BlockEncoder | undefined;
/** A buffer larger than this (a block of very many rows, or of large stored requests) is not kept. */
const KEEP_BYTES = 4 << 20;

class BlockEncoder {
  rows = 0;
  private out = new Uint8Array(1 << 16);
  private at = 1;
  private names: string[] = [];
  private codes = new Map<string, number>();
  /** The current batch's codes translated to this block's. */
  private batch: LogBatch | undefined;
  recode: number[] = [];
  private baseTime = 0;
  private firstTime = Infinity;
  private lastTime = -Infinity;
  /** Hashes of the rows' filtered ids (FILTERED a row), `hashed` of them so far. */
  hashes = new Uint32Array(2048);
  hashed = 0;
  /** Where the next row's ids start in its batch's. */
  cut = 0;

  /** Appends row `row` of `batch`, whose ids start at code unit `cut`; returns where the next row's start. */
  add(batch: LogBatch, row: number, cut: number, extra: LogBatch['extras'][number] | undefined): number {
    if (batch !== this.batch) {
      this.batch = batch;
      this.recode = batch.names.map((name) => this.code(name));
    }
    const n = batch.numbers;
    const at = row * NUMBERS_PER_ROW;
    // The most a row can take: 6 bytes a code unit escaped, 20 digits a number, 3 bytes a unit of UTF-8.
    let idUnits = 0;
    for (const slot of ID_SLOTS) idUnits += n[at + slot]!;
    let extraUnits = 0;
    if (extra) for (const text of extra[1]) extraUnits += text?.length ?? 4;
    this.room(64 + 20 * NUMBERS_PER_ROW + 6 * idUnits + 3 * extraUnits);
    const out = this.out;
    let o = this.at;
    if (this.rows > 0) out[o++] = COMMA;
    out[o++] = OPEN;
    if (this.hashed + FILTERED > this.hashes.length) this.growHashes();
    this.cut = cut;
    o = writeFields(this, n, at, batch.ids, out, o);
    if (extra) {
      const texts = extra[1];
      let last = texts.length - 1;
      while (last >= 0 && texts[last] === null) last--;
      for (let j = 0; j <= last; j++) {
        out[o++] = COMMA;
        o = this.json(texts[j] ?? 'null', o);
      }
    }
    out[o++] = CLOSE;
    this.at = o;
    this.rows++;
    return this.cut;
  }

  /** Notes a row's time; returns it relative to the block's base time. */
  time(ms: number): number {
    const time = Math.round(ms);
    if (this.rows === 0) this.baseTime = time;
    if (time < this.firstTime) this.firstTime = time;
    if (time > this.lastTime) this.lastTime = time;
    return time - this.baseTime;
  }

  take(): LogBlock {
    this.out[0] = OPEN;
    this.out[this.at] = CLOSE;
    const block: LogBlock = {
      rows: this.rows,
      baseTime: this.baseTime,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      names: JSON.stringify(this.names),
      data: this.out.slice(0, this.at + 1),
      ids: buildFilter(this.hashes, this.hashed),
    };
    this.rows = 0;
    this.hashed = 0;
    this.at = 1;
    this.names = [];
    this.codes = new Map();
    this.batch = undefined;
    this.firstTime = Infinity;
    this.lastTime = -Infinity;
    return block;
  }

  private code(name: string): number {
    return codeOf(this.codes, this.names, name);
  }

  /** Whether the buffer is small enough to keep between calls. */
  keepable(): boolean {
    return this.out.length <= KEEP_BYTES;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.at + bytes));
    grown.set(this.out.subarray(0, this.at));
    this.out = grown;
  }

  private growHashes(): void {
    const grown = new Uint32Array(this.hashes.length * 2);
    grown.set(this.hashes);
    this.hashes = grown;
  }

  /** An id as a JSON string: ASCII that needs no escape is copied as it is, anything else stringified. */
  id(ids: Uint16Array, from: number, to: number, o: number): number {
    const out = this.out;
    const start = o;
    out[o++] = QUOTE;
    for (let i = from; i < to; i++) {
      const c = ids[i]!;
      if (c >= 0x80 || PLAIN[c] === 0) return this.json(JSON.stringify(utf16.decode(ids.subarray(from, to))), start);
      out[o++] = c;
    }
    out[o++] = QUOTE;
    return o;
  }

  private json(text: string, o: number): number {
    return o + utf8.encodeInto(text, this.out.subarray(o)).written;
  }
}

/** Latency in whole nanoseconds: an integer is cheap to write, and finer is noise. */
function nanoseconds(us: number): number {
  return us > 0 && us < 9e12 ? Math.round(us * 1000) : 0;
}

/** Writes an integer of magnitude below 2^53 in decimal; returns the offset after it. */
function int(out: Uint8Array, o: number, v: number): number {
  if (v < 0) {
    out[o++] = 45;
    v = -v;
  }
  if (v < 10) {
    out[o] = 48 + v;
    return o + 1;
  }
  // Counted first, then written from the last digit back (writing them reversed and turning the slice
  // round cost a subarray a number: a third of this function's time).
  let end = o + 2;
  for (let p = 100; p <= v; p *= 10) end++;
  let at = end;
  while (v >= 2147483648) {
    const q = Math.floor(v / 10);
    out[--at] = 48 + v - q * 10;
    v = q;
  }
  let w = v | 0;
  while (at > o) {
    const q = (w / 10) | 0;
    out[--at] = 48 + w - q * 10;
    w = q;
  }
  return end;
}
