// The decision log's rows between threads, in the form that is cheapest to build, to hand over and to
// insert: a batch's repeating strings (types, actions, matched rules, revisions) are coded as numbers
// against the batch's own list of names, the numbers travel in one transferred Float64Array, and the
// three strings that differ per decision (decision, principal and resource ids) are copied, as UTF-16
// code units, end to end into one transferred Uint16Array, cut by their lengths. Handing over 13 values
// a row cost 0.3 µs a decision, and rows held as strings until the next flush survived collections
// (the collector copied them, twice, then promoted them): here a row holds no string at all.
import type { AuthorizeRequest, Decision } from '../../engine/index.js';

/** Numbers per row, in this order. */
export const TIME = 0;
export const LATENCY = 1;
export const PRINCIPAL_TYPE = 2;
export const ACTION = 3;
export const RESOURCE_TYPE = 4;
export const ALLOWED = 5;
export const MATCHED = 6;
export const REVISION = 7;
/** Lengths of the row's decision id, principal id and resource id in `ids`. */
export const ID_LENGTH = 8;
export const PRINCIPAL_ID_LENGTH = 9;
export const RESOURCE_ID_LENGTH = 10;
export const NUMBERS_PER_ROW = 11;
/** Room made for ids, in code units a row, before growing. */
const CHARS_PER_ROW = 64;

export interface LogBatch {
  rows: number;
  /** The names the codes refer to: code n is `names[n]`. */
  names: string[];
  numbers: Float64Array<ArrayBuffer>;
  /** Every row's decision id, principal id and resource id, end to end, as UTF-16 code units. */
  ids: Uint16Array<ArrayBuffer>;
  /** Rows with errors or a stored request: `[row, errors JSON | null, request JSON | null]`. */
  extras: [number, string | null, string | null][];
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
  private putId(s: string): number {
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

  private code(name: string): number {
    let c = this.codes.get(name);
    if (c === undefined) {
      c = this.names.length;
      this.codes.set(name, c);
      this.names.push(name);
    }
    return c;
  }

  push(decision: Decision, request: AuthorizeRequest, time: number, latencyUs: number, logRequest: boolean): void {
    const at = this.rows * NUMBERS_PER_ROW;
    if (at === this.numbers.length) {
      const grown = new Float64Array(Math.max(this.numbers.length * 2, NUMBERS_PER_ROW * this.capacity));
      grown.set(this.numbers);
      this.numbers = grown;
    }
    const n = this.numbers;
    const m = decision.matched;
    n[at + TIME] = time;
    n[at + LATENCY] = latencyUs;
    n[at + PRINCIPAL_TYPE] = this.code(request.principal.type);
    n[at + ACTION] = this.code(request.action);
    n[at + RESOURCE_TYPE] = this.code(request.resource.type);
    n[at + ALLOWED] = decision.allowed ? 1 : 0;
    n[at + MATCHED] = this.code(m.length === 0 ? '' : m.length === 1 ? m[0]!.rule : m.map((r) => r.rule).join(','));
    n[at + REVISION] = this.code(decision.policyRevision);
    n[at + ID_LENGTH] = this.putId(decision.decisionId);
    n[at + PRINCIPAL_ID_LENGTH] = this.putId(request.principal.id);
    n[at + RESOURCE_ID_LENGTH] = this.putId(request.resource.id);
    if (decision.errors !== undefined || logRequest) {
      this.extras.push([
        this.rows,
        decision.errors === undefined ? null : JSON.stringify(decision.errors),
        logRequest ? JSON.stringify(request) : null,
      ]);
    }
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
