// `--trust-proxy true` lets every client choose its address (the leftmost X-Forwarded-For entry): the sidecar
// says so when it starts; a list of proxies does not.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSidecar } from '../support/process.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-trust-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function startLines(trustProxy: string): Promise<{ level: number; msg: string; trustProxy?: unknown }[]> {
  // No decision threads: they are not what is tested, and each would load the policies again at start.
  const p = await spawnSidecar(
    ['--db', join(tmp, `${trustProxy.length}.db`), '--no-watch', '--decision-threads', '0'],
    {
      FLEETGUARD_TRUST_PROXY: trustProxy,
    },
  );
  p.child.kill('SIGTERM');
  await p.exited;
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

describe('--trust-proxy', () => {
  it('true: a warning at start that names the risk', async () => {
    const warnings = (await startLines('true')).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/X-Forwarded-For from any sender.*list the proxies/);
  });

  it('a list of proxies: no warning', async () => {
    expect((await startLines('10.0.0.1,10.0.0.2')).filter((l) => l.level === 40)).toEqual([]);
  });
});
