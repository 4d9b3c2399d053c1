// The store contract on the SQLite implementation: one file per run, each `open` a connection of its own.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { NoStoreError, openStores } from '../../server/store/open-stores.js';
import { storeContract } from './contract.js';

storeContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-store-'));
  const db = join(dir, 'store.db');
  return {
    open: async ({ pack } = {}) => openStores({ db, ...(pack ? { pack } : {}) }),
    dump: async () => {
      const raw = new Database(db, { readonly: true });
      try {
        const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        // Blobs as hex, so a digest or a secret stored as bytes is found too.
        const text = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : String(v));
        return tables
          .flatMap((t) => raw.prepare(`SELECT * FROM "${t}"`).raw().all() as unknown[][])
          .map((row) => row.map(text).join('|'))
          .join('\n');
      } finally {
        raw.close();
      }
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('openStores on SQLite', () => {
  it('refuses a missing file when told not to create one, and creates nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetguard-store-'));
    try {
      const missing = join(dir, 'sub', 'missing.db');
      await expect(openStores({ db: missing, create: false })).rejects.toThrow(NoStoreError);
      await expect(openStores({ db: missing, create: false })).rejects.toThrow(`no database at ${missing}`);
      const made = await openStores({ db: missing });
      await made.close();
      const again = await openStores({ db: missing, create: false });
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
