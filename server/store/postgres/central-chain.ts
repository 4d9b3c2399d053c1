// Verifying the central log (`fleetguard audit --verify --store postgres://…`): every chain shipped to it,
// from its blocks as stored (migration 7), with the verifier the sidecar's file is checked with
// (decision-log/chain.ts), and then decision_log, the rows audit queries read, against those blocks: each
// block's rows must be exactly its decoded rows (decision-log/decode-blocks.ts, the log's own decoder), and
// no row may be outside a chain's blocks. One REPEATABLE READ transaction: a shipment meanwhile changes
// nothing seen.
import { isDeepStrictEqual } from 'node:util';
import {
  type ChainAnchor,
  type ChainedBlock,
  type ChainReport,
  ChainVerifier,
  type ExpectedHead,
  headsByChain,
  missingChain,
} from '../../decision-log/chain.js';
import { BlockDecoder, type BlockContent } from '../../decision-log/decode-blocks.js';
import { readRow, type LoggedDecision } from '../../decision-log/row.js';
import { centralJson, SELECT_ROW } from './central-log.js';
import type { Pool, PoolClient } from './connection.js';

/** Blocks read at a time. */
const PAGE_BLOCKS = 256;

type CentralBlock = ChainedBlock & BlockContent & { namesText: string; dataText: string };

export async function verifyCentralLog(pool: Pool, expected: readonly ExpectedHead[] = []): Promise<ChainReport[]> {
  const client = await pool.connect();
  const decoder = new BlockDecoder();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const anchors = (
      await client.query(
        `SELECT chain_id AS "chainId", start_seq::float8 AS "startSeq", start_hash AS "startHash",
           dropped_blocks::float8 AS "droppedBlocks", dropped_decisions::float8 AS "droppedDecisions"
         FROM decision_log_chains ORDER BY chain_id`,
      )
    ).rows as ChainAnchor[];
    const heads = headsByChain(
      anchors.map((a) => a.chainId),
      expected,
    );
    const reports: ChainReport[] = [];
    for (const anchor of anchors) {
      reports.push(await verifyCentralChain(client, decoder, anchor, heads.get(anchor.chainId)));
      heads.delete(anchor.chainId);
    }
    for (const [chainId, hash] of heads) reports.push(missingChain(chainId, hash));
    reports.push(...(await rowsWithoutChain(client)));
    return reports;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
    decoder.close();
  }
}

async function verifyCentralChain(
  client: PoolClient,
  decoder: BlockDecoder,
  anchor: ChainAnchor,
  expectHead: string | undefined,
): Promise<ChainReport> {
  const verifier = new ChainVerifier(anchor, expectHead);
  let after = -1;
  for (;;) {
    const { rows } = await client.query(
      `SELECT first_seq::float8 AS "firstSeq", rows, base_time::float8 AS "baseTime", first_time::float8 AS "firstTime",
         last_time::float8 AS "lastTime", names AS "namesText", data AS "dataText", ids, prev_hash AS "prevHash", hash
       FROM decision_log_blocks WHERE chain_id = $1 AND first_seq > $2 ORDER BY first_seq LIMIT ${PAGE_BLOCKS}`,
      [anchor.chainId, after],
    );
    if (rows.length === 0) break;
    const blocks = (rows as CentralBlock[]).map((b) => ({
      ...b,
      names: Buffer.from(b.namesText, 'utf8'),
      data: Buffer.from(b.dataText, 'utf8'),
    }));
    const first = blocks[0]!;
    const last = blocks[blocks.length - 1]!;
    after = last.firstSeq;
    // The blocks as decision_log was made from them (central-log.ts: U+0000 as U+FFFD), decoded.
    const decoded = bySeq(
      decoder.decode(blocks.map((b) => ({ ...b, names: centralJson(b.namesText), data: centralJson(b.dataText) }))),
    );
    const central = bySeq(await centralRows(client, anchor.chainId, first.firstSeq, last.firstSeq + last.rows));
    for (const b of blocks) {
      if (!verifier.add(b, () => rowsDiffer(b, decoded, central))) return verifier.report();
    }
  }
  const outside = await client.query(
    `SELECT id, seq::float8 AS seq FROM decision_log WHERE log_id = $1 AND (seq < $2 OR seq >= $3) ORDER BY seq LIMIT 1`,
    [anchor.chainId, anchor.startSeq, verifier.nextSeq],
  );
  const stray = outside.rows[0] as { id: string; seq: number } | undefined;
  if (stray)
    verifier.failAfter(
      'rows-differ',
      `decision_log holds decision ${stray.id} (seq ${stray.seq}) of chain ${anchor.chainId} outside its blocks (decisions ${anchor.startSeq}–${verifier.nextSeq - 1}): a row was added`,
    );
  return verifier.report();
}

type Row = LoggedDecision & { seq: number };

function bySeq(rows: Row[]): Map<number, Row[]> {
  const map = new Map<number, Row[]>();
  for (const r of rows) {
    const at = map.get(r.seq);
    if (at) at.push(r);
    else map.set(r.seq, [r]);
  }
  return map;
}

async function centralRows(client: PoolClient, chainId: string, from: number, to: number): Promise<Row[]> {
  const { rows } = await client.query(
    `SELECT seq::float8 AS seq, ${SELECT_ROW} FROM decision_log WHERE log_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
    [chainId, from, to],
  );
  return (rows as Record<string, unknown>[]).map((row) => ({ ...readRow(row), seq: row.seq as number }));
}

/** Why decision_log's rows of block `b` are not exactly its decoded rows, or undefined when they are. */
function rowsDiffer(b: ChainedBlock, decoded: Map<number, Row[]>, central: Map<number, Row[]>): string | undefined {
  for (let seq = b.firstSeq; seq < b.firstSeq + b.rows; seq++) {
    const want = decoded.get(seq)?.[0];
    const got = central.get(seq) ?? [];
    if (want === undefined) return `the block holds no decision ${seq}: its rows do not match its row count`;
    if (got.length === 0)
      return `decision_log has no row for decision ${want.decisionId} (seq ${seq}) of the block: a row was removed`;
    if (got.length > 1) return `decision_log has ${got.length} rows for seq ${seq} of the block: a row was added`;
    if (!isDeepStrictEqual(got[0], want))
      return `decision_log's row for decision ${got[0]!.decisionId} (seq ${seq}) is not the block's: a row was modified`;
  }
  return undefined;
}

/** Rows of decision_log whose log id names no chain: decisions no block vouches for. */
async function rowsWithoutChain(client: PoolClient): Promise<ChainReport[]> {
  const { rows } = await client.query(
    `SELECT log_id AS "logId", count(*)::float8 AS n, min(id) AS id FROM decision_log l
     WHERE NOT EXISTS (SELECT 1 FROM decision_log_chains c WHERE c.chain_id = l.log_id) GROUP BY log_id ORDER BY log_id`,
  );
  return (rows as { logId: string; n: number; id: string }[]).map((r) => ({
    ...missingChain(r.logId, ''),
    broken: {
      seq: 0,
      position: 1,
      kind: 'no-chain',
      message: `decision_log holds ${r.n} decision(s) (${r.id} among them) under log id ${r.logId}, which has no chain in the central store: rows were added`,
    },
  }));
}
