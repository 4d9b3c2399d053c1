// Hot reload under load: 20 reloads (a third of them invalid) while requests run; no request fails and
// every decision is the one its named revision gives.
import { cpSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicyDir } from '../../engine/index.js';
import { POLICIES_DIR } from '../support/policies.js';
import { ADMIN_TOKEN, startTestServer } from '../support/server.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function policyCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-reload-'));
  dirs.push(dir);
  cpSync(POLICIES_DIR, dir, { recursive: true });
  return dir;
}

const DENY_RELEASES = `rules:
  - id: devices-may-not-read-releases
    description: reload test
    effect: deny
    principal: device
    actions: [read]
    resources: [release]
`;
const BROKEN =
  'rules:\n  - id: broken\n    description: broken\n    effect: allow\n    principal: device\n    actions: [read]\n    resources: [release]\n    when: resource.fleeet == principal.fleet\n';

const request = {
  principal: { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
  action: 'read',
  resource: { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } },
};

describe('hot reload', () => {
  it('swaps policy sets atomically while requests run, and keeps the last good set on errors', async () => {
    const dir = policyCopy();
    const server = await startTestServer({ policies: dir });
    const expected = new Map<string, boolean>([[server.policies.engine!.revision, true]]);
    const extra = join(dir, 'extra.yaml');
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const seen = new Map<string, number>();

    const check = (decision: { policyRevision: string; allowed: boolean; decision: string }) => {
      const want = expected.get(decision.policyRevision);
      if (want === undefined) failures.push(`unknown revision ${decision.policyRevision}`);
      else if (decision.allowed !== want)
        failures.push(`revision ${decision.policyRevision} gave ${decision.decision}`);
      seen.set(decision.policyRevision, (seen.get(decision.policyRevision) ?? 0) + 1);
    };
    // Half the clients send batches, which a decision thread decides on its own copy of the policies.
    const client = async (batch: boolean) => {
      while (!stop) {
        const res = batch
          ? await server.post('/v1/authorize/batch', { requests: [request, request, request] })
          : await server.post('/v1/authorize', request);
        sent++;
        if (res.status !== 200) failures.push(`status ${res.status}`);
        else if (!batch) check(res.body);
        else if (new Set(res.body.results.map((r: { policyRevision: string }) => r.policyRevision)).size !== 1)
          failures.push('a batch decided on two revisions');
        else res.body.results.forEach(check);
      }
    };
    const clients = Array.from({ length: 6 }, (_, i) => client(i % 2 === 1));

    try {
      let serving = server.policies.engine!.revision;
      for (let i = 0; i < 20; i++) {
        const kind = i % 3 === 2 ? 'invalid' : i % 2 === 0 ? 'deny' : 'allow';
        if (kind === 'invalid') writeFileSync(extra, BROKEN);
        else if (kind === 'deny') writeFileSync(extra, DENY_RELEASES.replace('reload test', `reload test ${i}`));
        else writeFileSync(extra, `rules: []\n# version ${i}\n`);
        if (kind !== 'invalid') {
          const { policySet } = compilePolicyDir(dir);
          expected.set(policySet!.revision, kind === 'allow');
        }
        const res = await server.post('/v1/admin/reload', {}, { authorization: `Bearer ${ADMIN_TOKEN}` });
        if (kind === 'invalid') {
          expect(res.status).toBe(422);
          expect(res.body.ok).toBe(false);
          expect(res.body.revision).toBe(serving);
          expect(res.body.errors[0]).toMatch(/^extra\.yaml:8:11: .*`fleeet`/);
          const health = await (await fetch(`${server.url}/health`)).json();
          expect(health).toMatchObject({
            policyRevision: serving,
            lastReload: { ok: false, errors: [expect.stringContaining('extra.yaml:8:11')] },
          });
        } else {
          expect(res.status).toBe(200);
          serving = res.body.revision;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(100);
    expect(seen.size).toBeGreaterThan(3); // requests really ran across many revisions
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^fleetguard_policy_reload_failures_total 6$/m);
    expect(metrics).toMatch(/^fleetguard_policy_reloads_total 15$/m);
    await server.stop();
  });

  it('reloads by itself when a policy file changes', async () => {
    const dir = policyCopy();
    const server = await startTestServer({ policies: dir, watch: true });
    try {
      const before = server.policies.engine!.revision;
      writeFileSync(join(dir, 'extra.yaml'), DENY_RELEASES);
      const deadline = Date.now() + 5000;
      while (server.policies.engine!.revision === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      expect(server.policies.engine!.revision).not.toBe(before);
      expect((await server.post('/v1/authorize', request)).body).toMatchObject({
        decision: 'deny',
        matched: [{ rule: 'devices-may-not-read-releases' }],
      });
      unlinkSync(join(dir, 'extra.yaml'));
      const back = Date.now() + 5000;
      while (server.policies.engine!.revision !== before && Date.now() < back)
        await new Promise((r) => setTimeout(r, 50));
      expect(server.policies.engine!.revision).toBe(before);
    } finally {
      await server.stop();
    }
  });
});
