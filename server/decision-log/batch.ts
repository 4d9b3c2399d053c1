// The decision log's rows between threads, in the form that is cheapest to build, to hand over and to
// encode: a row's numbers (row.ts: one a field, names coded against the batch's own list of names) go
// in one transferred Float64Array, and its ids, as UTF-16 code units, end to end into one transferred
// Uint16Array, cut by the lengths among the numbers. A row holds no string the collector would copy and
// promote while it waits for the next flush.
import type { AuthorizeRequest, Decision } from '../../engine/index.js';
import { FIELDS, type Field, JSON_FIELDS, NUMBER_FIELDS, NUMBERS_PER_ROW } from './row.js';
import { codeOf } from './name-codes.js';

/**
 * Fills a row's numbers and returns its `json` fields' texts when it has any: straight-line code made once
 * from the table (row.ts), each field its own step with its own call of its accessor, which V8 inlines;
 * a loop over the fields costs a request more (bench/README.md).
 */
const fillRow = new Function(
  ...FIELDS.map((_, i) => `of${i}`),
  `return (b, n, at, d, r, time, latencyUs, logRequest) => {
  let texts, text;
${(FIELDS as readonly Field[])
  .map((f, i) => {
    const slot = NUMBER_FIELDS.indexOf(f);
    const value = {
      id: `b.putId(of${i}(d, r))`,
      name: `b.code(of${i}(d, r))`,
      time: 'time',
      outcome: 'd.allowed ? 1 : 0',
      latency: 'latencyUs',
    };
    if (f.kind !== 'json') return `  n[at + ${slot}] = ${value[f.kind]};`;
    const j = JSON_FIELDS.indexOf(f);
    return `  if ((text = of${i}(d, r, logRequest)) !== null) (texts ??= Array(${JSON_FIELDS.length}).fill(null))[${j}] = text;`;
  })
  .join('\n')}
  return texts;
}`,
)(...FIELDS.map((f) => ('of' in f ? f.of : undefined))) as (
  b: LogBatchBuilder,
  n: Float64Array,
  at: number,
  d: Decision,
  r: AuthorizeRequest,
  time: number,
  latencyUs: number,
  logRequest: boolean,
) => (string | null)[] | undefined;

/** Room made for ids, in code units a row, before growing. */
const CHARS_PER_ROW = 64;

export interface LogBatch {
  rows: number;
  /** The names the codes refer to: code n is `names[n]`. */
  names: string[];
  numbers: Float64Array<ArrayBuffer>;
  /** Every row's ids, end to end, as UTF-16 code units. */
  ids: Uint16Array<ArrayBuffer>;
  /** Rows with any `json` field: the row, and the text (or null) of each `json` field in order. */
  extras: [row: number, texts: (string | null)[]][];
}

/** Builds one batch; `take()` hands it over and starts the next. */
export class LogBatchBuilder {
  rows = 0;
  private codes = new Map<string, number>();
  private names: string[] = [];
  private numbers: Float64Array<ArrayBuffer>;
  private ids: Uint16Array<ArrayBuffer>;
  private idsUsed = 0;
  private extras: LogBatch['extras'] = [];

  /** `capacity`: the rows expected, room for which is made at once (it grows beyond). */
  constructor(private readonly capacity = 1024) {
    this.numbers = new Float64Array(NUMBERS_PER_ROW * capacity);
    this.ids = new Uint16Array(CHARS_PER_ROW * capacity);
  }

  /** Copies `s` after the ids so far; returns its length. */
  putId(s: string): number {
    const length = s.length;
    let at = this.idsUsed;
    if (at + length > this.ids.length) {
      const grown = new Uint16Array(Math.max(this.ids.length * 2, at + length, CHARS_PER_ROW * this.capacity));
      grown.set(this.ids.subarray(0, at));
      this.ids = grown;
    }
    const ids = this.ids;
    for (let i = 0; i < length; i++) ids[at++] = s.charCodeAt(i);
    this.idsUsed = at;
    return length;
  }

  code(name: string): number {
    return codeOf(this.codes, this.names, name);
  }

  push(decision: Decision, request: AuthorizeRequest, time: number, latencyUs: number, logRequest: boolean): void {
    const at = this.rows * NUMBERS_PER_ROW;
    if (at === this.numbers.length) {
      const grown = new Float64Array(Math.max(this.numbers.length * 2, NUMBERS_PER_ROW * this.capacity));
      grown.set(this.numbers);
      this.numbers = grown;
    }
    const texts = fillRow(this, this.numbers, at, decision, request, time, latencyUs, logRequest);
    if (texts) this.extras.push([this.rows, texts]);
    this.rows++;
  }

  take(): LogBatch {
    const batch: LogBatch = {
      rows: this.rows,
      names: this.names,
      numbers: this.numbers.subarray(0, this.rows * NUMBERS_PER_ROW),
      ids: this.ids.subarray(0, this.idsUsed),
      extras: this.extras,
    };
    this.rows = 0;
    this.codes = new Map();
    this.names = [];
    this.numbers = new Float64Array(0); // made on the next push: a builder is often not used again
    this.ids = new Uint16Array(0);
    this.idsUsed = 0;
    this.extras = [];
    return batch;
  }
}

export function rowsIn(batches: readonly LogBatch[]): number {
  let n = 0;
  for (const b of batches) n += b.rows;
  return n;
}

/** What to transfer (not copy) when posting a batch to another thread. */
export function transferList(batch: LogBatch): ArrayBuffer[] {
  return [batch.numbers.buffer, batch.ids.buffer];
}
