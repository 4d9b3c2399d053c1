// The decision log's hash chain (after AWS CloudTrail's log file integrity validation): every block
// carries SHA-256 of its stored content and of the previous block's hash, so changing, removing or
// reordering a block breaks the chain at that block. A chain belongs to one log (one SQLite file, shared by
// the sidecars writing to it, whose writes its lock serializes) and is named by a random id made with the
// file, so the blocks of many logs copied into one central table stay apart and verifiable.
//
// Hashes are over the block as stored, never over the writer's memory, so anyone holding the stored
// columns recomputes them (docs/architecture.md, "Decision log integrity", gives the encoding):
//   content = SHA-256("fleetguard decision block content v1\0", rows, base_time, first_time, last_time,
//                     names, data, ids)
//   hash    = SHA-256("fleetguard decision block link v1\0", chain_id, first_seq, prev_hash, content)
// each integer 8 bytes big-endian, each text or byte string its length so written and then its bytes
// (text as UTF-8). The content hash needs no lock: the writer computes it before taking the write lock,
// and only the short link hash under it.
import { createHash } from 'node:crypto';

export const HASH_BYTES = 32;
/** The previous hash of a chain's first block. */
export const GENESIS: Uint8Array = new Uint8Array(HASH_BYTES);

const CONTENT_TAG = Buffer.from('fleetguard decision block content v1\0', 'latin1');
const LINK_TAG = Buffer.from('fleetguard decision block link v1\0', 'latin1');

/** A block's columns as stored (`decision_blocks`), the text columns as their bytes. */
export interface ChainedBlock {
  firstSeq: number;
  rows: number;
  baseTime: number;
  firstTime: number;
  lastTime: number;
  names: Uint8Array;
  data: Uint8Array;
  ids: Uint8Array | null;
  prevHash: Uint8Array | null;
  hash: Uint8Array | null;
}

/** Where a chain starts (`decision_chain`): the genesis, or the first block retention kept. */
export interface ChainAnchor {
  chainId: string;
  /** The first block's `first_seq` (the next block's when none is kept). */
  startSeq: number;
  /** The hash the first block's `prev_hash` must equal: GENESIS, or that of the last block retention removed. */
  startHash: Uint8Array;
  droppedBlocks: number;
  droppedDecisions: number;
}

function int64(n: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64BE(BigInt(n));
  return b;
}

/** SHA-256 of what a block holds (everything but its place in the chain). */
export function contentHash(b: Omit<ChainedBlock, 'firstSeq' | 'prevHash' | 'hash'>): Buffer {
  const ids = b.ids ?? GENESIS.subarray(0, 0);
  const head = Buffer.allocUnsafe(8 * 5);
  head.writeBigInt64BE(BigInt(b.rows), 0);
  head.writeBigInt64BE(BigInt(b.baseTime), 8);
  head.writeBigInt64BE(BigInt(b.firstTime), 16);
  head.writeBigInt64BE(BigInt(b.lastTime), 24);
  head.writeBigInt64BE(BigInt(b.names.length), 32);
  return createHash('sha256')
    .update(CONTENT_TAG)
    .update(head)
    .update(b.names)
    .update(int64(b.data.length))
    .update(b.data)
    .update(int64(ids.length))
    .update(ids)
    .digest();
}

/** The block's hash: its content's at its place in the chain. */
export function linkHash(chainId: string, firstSeq: number, prevHash: Uint8Array, content: Uint8Array): Buffer {
  const id = Buffer.from(chainId, 'utf8');
  return createHash('sha256')
    .update(LINK_TAG)
    .update(int64(id.length))
    .update(id)
    .update(int64(firstSeq))
    .update(prevHash)
    .update(content)
    .digest();
}

export function blockHash(chainId: string, b: ChainedBlock): Buffer {
  return linkHash(chainId, b.firstSeq, b.prevHash ?? GENESIS, contentHash(b));
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The first block that breaks the chain, and how. */
export interface ChainBreak {
  /** The block's `first_seq`, or where a missing block was expected at the end. */
  seq: number;
  /** Its place among the stored blocks (1 for the first). */
  position: number;
  kind: 'modified' | 'missing-before' | 'unhashed' | 'head-not-found' | 'rows-differ' | 'no-chain';
  message: string;
}

export interface ChainReport {
  chainId: string;
  blocks: number;
  decisions: number;
  /** The first kept block's seq, and the blocks and decisions retention removed before it. */
  startSeq: number;
  droppedBlocks: number;
  droppedDecisions: number;
  /** The last block's hash (the anchor's start hash when no block is kept) and the seq after it. */
  head: string;
  nextSeq: number;
  /** Absent when the chain is whole (and holds `expectHead`, when given). */
  broken?: ChainBreak;
}

/**
 * Checks blocks in `first_seq` order against `anchor`: each block's hash recomputed from its columns,
 * each block's `prev_hash` equal to the hash before it and its `first_seq` following on. Stops at the
 * first break. `expectHead` (a hash anchored elsewhere) must be the hash of a block of the chain, or the
 * anchor's start hash.
 */
export function verifyChain(anchor: ChainAnchor, blocks: Iterable<ChainedBlock>, expectHead?: string): ChainReport {
  const verifier = new ChainVerifier(anchor, expectHead);
  for (const b of blocks) if (!verifier.add(b)) break;
  return verifier.report();
}

/**
 * verifyChain a block at a time, for blocks read a page at a time (the central log): `add` each block in
 * `first_seq` order until it returns false (the chain is broken there), then `report`.
 */
export class ChainVerifier {
  private prev: Uint8Array;
  private seq: number;
  private verified = 0;
  private decisions = 0;
  private headSeen: boolean;
  private broken: ChainBreak | undefined;

  constructor(
    private readonly anchor: ChainAnchor,
    private readonly expectHead?: string,
  ) {
    this.prev = anchor.startHash;
    this.seq = anchor.startSeq;
    this.headSeen = expectHead !== undefined && hex(anchor.startHash) === expectHead;
  }

  /** The seq the next block must start at (after the last block verified). */
  get nextSeq(): number {
    return this.seq;
  }

  /**
   * Checks the next block; false once the chain is broken (at this block or before). `also`: a check made
   * elsewhere on a block that verified (the central log's rows against it): the reason it fails, if it does.
   */
  add(b: ChainedBlock, also?: () => string | undefined): boolean {
    if (this.broken) return false;
    const broken = (kind: ChainBreak['kind'], why: string): false => {
      const at = this.verified + 1;
      this.broken = {
        seq: b.firstSeq,
        position: at,
        kind,
        message: `block ${b.firstSeq} (decisions ${b.firstSeq}–${b.firstSeq + b.rows - 1}, block ${at} of the log): ${why}`,
      };
      return false;
    };
    if (b.hash === null || b.prevHash === null) return broken('unhashed', 'it has no hash');
    if (!equal(blockHash(this.anchor.chainId, b), b.hash))
      return broken('modified', 'its content does not match its hash: it was modified, or moved from another place');
    if (!equal(b.prevHash, this.prev) || b.firstSeq !== this.seq) {
      const before =
        this.verified === 0
          ? `the chain starts at decision ${this.anchor.startSeq} after hash ${short(this.anchor.startHash)}`
          : `the block before it ends at decision ${this.seq - 1} with hash ${short(this.prev)}`;
      return broken(
        'missing-before',
        `it does not follow on from what precedes it (${before}): a block before it was removed, or blocks were reordered`,
      );
    }
    const why = also?.();
    if (why !== undefined) return broken('rows-differ', why);
    this.prev = b.hash;
    this.seq = b.firstSeq + b.rows;
    this.verified++;
    this.decisions += b.rows;
    if (!this.headSeen && this.expectHead !== undefined && hex(b.hash) === this.expectHead) this.headSeen = true;
    return true;
  }

  /** Breaks the chain after the blocks verified so far, for a check made elsewhere (the central log's rows). */
  failAfter(kind: ChainBreak['kind'], message: string): void {
    this.broken ??= { seq: this.seq, position: this.verified + 1, kind, message };
  }

  report(): ChainReport {
    const base = {
      chainId: this.anchor.chainId,
      blocks: this.verified,
      decisions: this.decisions,
      startSeq: this.anchor.startSeq,
      droppedBlocks: this.anchor.droppedBlocks,
      droppedDecisions: this.anchor.droppedDecisions,
      head: hex(this.prev),
      nextSeq: this.seq,
    };
    if (this.broken) return { ...base, broken: this.broken };
    if (this.expectHead !== undefined && !this.headSeen) {
      return {
        ...base,
        broken: {
          seq: this.seq,
          position: this.verified + 1,
          kind: 'head-not-found',
          message: `no block of the chain has the expected head ${this.expectHead}: blocks were removed from the end, or the log was rewritten from some block on (or retention removed that block: the chain now starts at decision ${this.anchor.startSeq})`,
        },
      };
    }
    return base;
  }
}

/** A head kept elsewhere (`--expect-head`) that must be in a chain: the one named, or the log's only chain. */
export interface ExpectedHead {
  chainId?: string;
  /** 64 lowercase hexadecimal digits. */
  hash: string;
}

/** `--expect-head` that cannot be applied to the chains there are (a hash without a chain, and several chains). */
export class ExpectHeadError extends Error {}

/**
 * Which head each chain must hold: a hash that names no chain goes to the log's only chain. The chains
 * named that are not among `chainIds` are still in the map: a chain removed whole must not pass.
 */
export function headsByChain(chainIds: readonly string[], expected: readonly ExpectedHead[]): Map<string, string> {
  const heads = new Map<string, string>();
  for (const e of expected) {
    let chainId = e.chainId;
    if (chainId === undefined) {
      if (chainIds.length !== 1)
        throw new ExpectHeadError(
          `the log holds ${chainIds.length} chains: say which one the head is of (--expect-head CHAIN:HASH)`,
        );
      chainId = chainIds[0]!;
    }
    if (heads.has(chainId)) throw new ExpectHeadError(`one expected head a chain: ${chainId} has two`);
    heads.set(chainId, e.hash);
  }
  return heads;
}

/** The report on a chain expected (by a head kept for it) that the log does not hold. */
export function missingChain(chainId: string, hash: string): ChainReport {
  return {
    chainId,
    blocks: 0,
    decisions: 0,
    startSeq: 0,
    droppedBlocks: 0,
    droppedDecisions: 0,
    head: '',
    nextSeq: 0,
    broken: {
      seq: 0,
      position: 1,
      kind: 'no-chain',
      message: `the log holds no chain ${chainId}, whose head ${hash} was expected: the whole chain was removed`,
    },
  };
}

function short(hash: Uint8Array): string {
  return `${hex(hash).slice(0, 16)}…`;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
