// Which principal and resource ids a block of the decision log may hold: a Bloom filter per block, so
// an audit query for one principal or resource reads the blocks that may hold it rather than every
// row (bench/log-bench.ts). No false negatives: a block that holds the id always passes; about 2% of
// the others do too (8 bits and 4 probes a key). Ids are hashed as UTF-16 code units, the same from
// the writer's arrays and from a query's string.

export type IdKind = 'principal' | 'resource';

const SEED: Record<IdKind, number> = { principal: 0x811c9dc5, resource: 0x01000193 };
const BITS_PER_KEY = 8;
const PROBES = 4;

/** FNV-1a over code units `from`..`to` of `units`. */
export function hashUnits(units: Uint16Array, from: number, to: number, kind: IdKind): number {
  let h = SEED[kind];
  for (let i = from; i < to; i++) h = Math.imul(h ^ units[i]!, 0x01000193);
  return h >>> 0;
}

/** The same hash of a string's code units. */
export function hashString(s: string, kind: IdKind): number {
  let h = SEED[kind];
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A second, independent-enough hash for double hashing (a murmur3 finalizer), odd so probes cycle. */
function step(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) | 1) >>> 0;
}

/** The filter over `hashes` (a power of two of bytes). */
export function buildFilter(hashes: ArrayLike<number>, count: number): Uint8Array {
  let bytes = 8;
  while (bytes * 8 < count * BITS_PER_KEY) bytes *= 2;
  const bits = new Uint8Array(bytes);
  const mask = bytes * 8 - 1;
  for (let k = 0; k < count; k++) {
    const h = hashes[k]!;
    const s = step(h);
    for (let p = 0; p < PROBES; p++) {
      const bit = (h + p * s) & mask;
      bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return bits;
}

/** Whether the filter may hold `id` (true when there is no filter). */
export function mayHold(filter: Uint8Array | null | undefined, kind: IdKind, id: string): boolean {
  if (!filter || filter.length === 0) return true;
  const h = hashString(id, kind);
  const s = step(h);
  const mask = filter.length * 8 - 1;
  for (let p = 0; p < PROBES; p++) {
    const bit = (h + p * s) & mask;
    if ((filter[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}
