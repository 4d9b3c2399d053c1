// `fleetguard audit --verify`: exit 0 with one line for a whole chain, 1 naming the first block broken,
// 2 for a usage mistake or a missing database; `--expect-head` checks a head kept elsewhere. Real processes
// check each exit status (0, 1 and 2) once, with its output; the other runs run the command's main() in this
// process (fleetguardInProcess), without a process's module loading.
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../server/decision-log/decision-log.js';
import { openDatabase } from '../../server/store/database.js';
import { fleetguard } from '../support/cli.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-verify-'));
const file = join(tmp, 'log.db');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let now = Date.parse('2026-06-01T00:00:00Z');
beforeAll(async () => {
  const db = openDatabase(file);
  const log = new DecisionLog(db, undefined, {
    flushMs: 250,
    queueMax: 100_000,
    overflow: 'block',
    retentionDays: 1,
    logRequests: false,
    blockRows: 10,
    clock: () => now,
    warn: () => {},
  });
  for (let i = 0; i < 50; i++) {
    log.append(
      { decision: 'deny', allowed: false, decisionId: `id-${i}`, policyRevision: 'sha256:x', matched: [] },
      { principal: { type: 'device', id: `d-${i}` }, action: 'read', resource: { type: 'fleet', id: 'f-1' } },
      1,
    );
    if (i === 19) {
      log.flushAll();
      now += 2 * 86_400_000; // the first two blocks fall out of the retention
    }
  }
  log.flushAll();
  expect(log.prune()).toBe(20);
  await log.close();
  db.close();
});

/** A copy of the log to tamper with. */
function copy(name: string): string {
  const to = join(tmp, name);
  copyFileSync(file, to);
  return to;
}

describe('fleetguard audit --verify', () => {
  it('prints one line for a whole chain (after retention): what was verified, where it starts, its head', async () => {
    const r = fleetguard(['audit', '--verify', '--db', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^ok: 3 block\(s\), 30 decision\(s\) verified; chain [0-9a-f-]{36} starts at decision 21 \(retention removed 20 decision\(s\) before it\); head [0-9a-f]{64} \(next decision 51\)\n$/,
    );
    const [json, ...others] = JSON.parse(
      (await fleetguardInProcess(['audit', '--verify', '--json', '--db', file])).stdout,
    );
    expect(others).toEqual([]);
    expect(json).toMatchObject({ blocks: 3, decisions: 30, startSeq: 21, droppedBlocks: 2, droppedDecisions: 20 });
    expect(
      (await fleetguardInProcess(['audit', '--verify', '--db', file, '--expect-head', json.head.toUpperCase()])).status,
    ).toBe(0);
    const named = `${json.chainId}:${json.head}`;
    expect((await fleetguardInProcess(['audit', '--verify', '--db', file, '--expect-head', named])).status).toBe(0);
    // A head kept for a chain the log does not hold: that chain was removed whole.
    const other = await fleetguardInProcess([
      'audit',
      '--verify',
      '--db',
      file,
      '--expect-head',
      named,
      '--expect-head',
      `x:${json.head}`,
    ]);
    expect(other.status).toBe(1);
    expect(other.stdout.split('\n')[1]).toMatch(
      /^broken: chain x: the log holds no chain x, whose head [0-9a-f]{64} was expected/,
    );
  });

  it('exits 1 naming the first block modified, removed or reordered', async () => {
    const modified = copy('modified.db');
    const db = new Database(modified);
    db.exec(`UPDATE decision_blocks SET data = json_replace(data, '$[3][7]', 1) WHERE first_seq = 31`);
    db.close();
    const r = fleetguard(['audit', '--verify', '--db', modified]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^broken: chain [0-9a-f-]{36}: block 31 \(decisions 31–40, block 2 of the log\): its content does not match its hash: .*; 1 block\(s\), 10 decision\(s\) verified before it\n$/,
    );

    const removed = copy('removed.db');
    const db2 = new Database(removed);
    db2.exec('DELETE FROM decision_blocks WHERE first_seq = 31');
    db2.close();
    const r2 = await fleetguardInProcess(['audit', '--verify', '--db', removed]);
    expect(r2.status).toBe(1);
    expect(r2.stdout).toMatch(
      /^broken: chain [0-9a-f-]{36}: block 41 .*a block before it was removed, or blocks were reordered/,
    );
  });

  it('with --expect-head, exits 1 when the head kept is no longer in the chain (the last block removed)', async () => {
    const head = JSON.parse((await fleetguardInProcess(['audit', '--verify', '--json', '--db', file])).stdout)[0]
      .head as string;
    const truncated = copy('truncated.db');
    const db = new Database(truncated);
    db.exec('DELETE FROM decision_blocks WHERE first_seq = 41');
    db.close();
    expect((await fleetguardInProcess(['audit', '--verify', '--db', truncated])).status).toBe(0);
    const r = await fleetguardInProcess(['audit', '--verify', '--db', truncated, '--expect-head', head]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`no block of the chain has the expected head ${head}`);
  });

  it('usage mistakes and a missing database are one line and exit 2', async () => {
    const mistakes = [
      [['--verify', '--db', join(tmp, 'missing.db')], /^fleetguard audit: no database at /],
      [['--verify', '--db', file, '--expect-head', 'abc'], /--expect-head takes a SHA-256 hash/],
      [['--db', file, '--expect-head', 'a'.repeat(64)], /--expect-head goes with --verify/],
      [
        ['--verify', '--db', file, '--expect-head', 'a'.repeat(64), '--expect-head', 'b'.repeat(64)],
        /--expect-head: one expected head a chain/,
      ],
      [['--verify', '--db', file, '--principal', 'd-1'], /--verify checks the whole log: it takes no --principal/],
    ] as const;
    for (const [i, [args, message]] of mistakes.entries()) {
      // The first on a real process, as a user sees it; the others in this process.
      const r = i === 0 ? fleetguard(['audit', ...args]) : await fleetguardInProcess(['audit', ...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});
