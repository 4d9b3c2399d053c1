// Threads started under the test runner run the TypeScript sources as they are now, never a build in
// dist/ that may be older.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { workerUrl } from '../../server/worker-url.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetguard-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runThread(url: URL): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerUrl(url));
    worker.once('message', (m) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('a thread started from the sources', () => {
  it('runs TypeScript, its .js imports resolved to the .ts beside them, and sees a change at once', async () => {
    writeFileSync(
      join(dir, 'entry.ts'),
      `import { parentPort } from 'node:worker_threads';
       import { value } from './value.js';
       const seen: { value: string } = { value };
       parentPort!.postMessage(seen);`,
    );
    const entry = new URL('entry.js', pathToFileURL(`${dir}/`));
    writeFileSync(join(dir, 'value.ts'), `export const value: string = 'first';`);
    expect(await runThread(entry)).toEqual({ value: 'first' });
    writeFileSync(join(dir, 'value.ts'), `export const value: string = 'second';`);
    expect(await runThread(entry)).toEqual({ value: 'second' });
  });

  it('is the source, not the build in dist/', () => {
    const url = workerUrl(new URL('../../server/decision-log/writer-thread.js', import.meta.url));
    const bootstrap = decodeURIComponent(url.href);
    expect(url.protocol).toBe('data:');
    expect(bootstrap).toContain(new URL('../../server/decision-log/writer-thread.ts', import.meta.url).href);
    expect(bootstrap).not.toContain('/dist/');
  });
});
