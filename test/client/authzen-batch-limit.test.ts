// The cap on the items of one AuthZEN evaluations call: the sidecar's --batch-limit, and the embedded
// client's batchLimit (1000 without one), through the same shared code, refused alike.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createClient, type FleetguardClient } from '../../client/client.js';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const PACK = join(REPO_DIR, 'examples', 'authzen-todo');
const RICK = 'CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs';

/** An evaluations request of `n` items, each allowed (anyone reads the user directory). */
const items = (n: number) => ({
  subject: { type: 'user', id: RICK },
  action: { name: 'can_read_user' },
  evaluations: Array.from({ length: n }, (_, i) => ({ resource: { type: 'user', id: `u${i}@example.com` } })),
});

describe('the evaluations cap', () => {
  const closing: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closing) await close();
  });
  const embedded = async (batchLimit?: number) => {
    const client = createClient({ policies: PACK, ...(batchLimit === undefined ? {} : { batchLimit }) });
    await client.ready();
    closing.push(() => client.close());
    return client;
  };
  const sidecar = async (batchLimit: number): Promise<FleetguardClient> => {
    const server: TestServer = await startTestServer({ policies: PACK, batchLimit });
    const client = createClient({ url: server.url, timeoutMs: 30_000 });
    closing.push(
      () => client.close(),
      () => server.stop(),
    );
    return client;
  };

  it('answers up to the cap and refuses one item more, embedded as the sidecar does', async () => {
    for (const client of [await embedded(2), await sidecar(2)]) {
      const within = await client.evaluations(items(2));
      expect(within.evaluations.map((e) => e.decision)).toEqual([true, true]);
      expect(within.error).toBeUndefined();
      const over = await client.evaluations(items(3));
      expect(over.evaluations.map((e) => e.decision)).toEqual([false, false, false]);
      expect(over.error).toMatchObject({ code: 'batch_too_large', status: 400 });
    }
  });

  it('caps an embedded client without a setting at 1000 items', async () => {
    const client = await embedded();
    const within = await client.evaluations(items(1000));
    expect(within.error).toBeUndefined();
    expect(within.evaluations.every((e) => e.decision)).toBe(true);
    expect((await client.evaluations(items(1001))).error).toMatchObject({ code: 'batch_too_large' });
  });
});
