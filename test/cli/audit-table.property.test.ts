// `fleetguard audit` prints caller-chosen ids in a table: no id may forge a row or a column.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { tableCell } from '../../cli/table-cell.js';
import { openDatabase } from '../../server/store/database.js';
import { DecisionLog } from '../../server/decision-log/decision-log.js';
import { fleetguard } from '../support/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-audit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Whitespace other than a space, and control, format, private-use, unassigned and separator characters. */
const INVISIBLE = /[^\S ]|[\p{C}\p{Zl}\p{Zp}]/u;
const readBack = (cell: string) => (cell.startsWith('"') ? (JSON.parse(cell) as string) : cell);

const hostile = fc.constantFrom(
  '\n',
  '\r',
  '\t',
  '\u001b[2J',
  '\u0000',
  '\u0085',
  '\u2028',
  '\u202e',
  '\u200b',
  '\ud800',
  '"',
  '\\',
  ' ',
  '\u00a0',
  '\u{e0001}',
);
const ids = fc.string({
  unit: fc.oneof(
    fc.constantFrom('a', '-', '1', 'é', '日'),
    hostile,
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  ),
  maxLength: 12,
});

describe('audit table cells', () => {
  it('are visible text on one line that reads back as the id, and a bare cell has no space', () => {
    fc.assert(
      fc.property(ids, (id) => {
        const cell = tableCell(id);
        expect(cell).not.toMatch(INVISIBLE);
        expect(readBack(cell)).toBe(id);
        if (!cell.startsWith('"')) expect(cell).not.toContain(' ');
      }),
      { numRuns: 2000 },
    );
  });

  it('leave printable ids as they are', () => {
    expect(tableCell('d-1')).toBe('d-1');
    expect(tableCell('device:日本-1')).toBe('device:日本-1');
    expect(tableCell('a b')).toBe('"a b"');
    expect(tableCell('')).toBe('""');
    expect(tableCell('x\n2026')).toBe('"x\\n2026"');
    expect(tableCell('evil\u202eexe.txt')).toBe('"evil\\u202eexe.txt"');
  });

  it('fleetguard audit prints one line a decision whatever the ids hold', async () => {
    const file = join(tmp, 'forged.db');
    const db = openDatabase(file);
    const log = new DecisionLog(db, undefined, {
      flushMs: 250,
      logRequests: false,
      blockRows: 4096,
      queueMax: 1000,
      overflow: 'block',
      retentionDays: 0,
      clock: () => Date.parse('2026-06-01T00:00:00Z'),
      warn: () => {},
    });
    const forged = [
      'd-1\n2026-06-01T00:00:00.000Z  allow    device:admin  delete  fleet:f-1  forged  sha256:x',
      'd-2\r2026-06-01T00:00:00.000Z  allow',
      'd-3\u001b[1A\u001b[2K',
      'd-4\u202e',
      'd-5\u2028row',
    ];
    for (const [i, id] of forged.entries())
      log.append(
        { decision: 'deny', allowed: false, decisionId: `x${i}`, policyRevision: 'sha256:x', matched: [] },
        { principal: { type: 'device', id }, action: 'read', resource: { type: 'fleet', id: `f\t${i}` } },
        1,
      );
    await log.close();
    db.close();
    const r = fleetguard(['audit', '--db', file]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').slice(0, -1);
    expect(lines).toHaveLength(1 + forged.length + 1); // header, one line a decision, the count
    expect(lines.at(-1)).toBe(`${forged.length} decision(s)`);
    for (const line of lines) expect(line).not.toMatch(INVISIBLE);
    for (const id of forged) expect(r.stdout).toContain(tableCell(`device:${id}`));
    expect(lines.filter((l) => l.startsWith('2026-06-01T00:00:00.000Z  deny'))).toHaveLength(forged.length);
  });
});
