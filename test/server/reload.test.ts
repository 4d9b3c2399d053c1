// Hot reload under load: 6 reloads (20 under test:deep), a third of them invalid, while requests run; no
// request fails and every decision is the one its named revision gives. Reloads on every kind of change to
// the directory (atomic saves, in-place edits, removals, new files, a ConfigMap's `..data` swap), and
// polling when the watcher fails.
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicyDir } from '../../engine/index.js';
import { POLICIES_DIR } from '../support/policies.js';
import type { WatchDirectory } from '../../server/plugins/policy-watcher.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';
import { depth } from '../support/depth.js';
import { until } from '../support/wait.js';

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
    const reloads = depth(6, 20); // every third one invalid; the others deny and allow in turn
    const invalid = Array.from({ length: reloads }, (_, i) => i).filter((i) => i % 3 === 2).length;
    const dir = policyCopy();
    // Decision threads, as a sidecar has by default: each holds its own copy of the policies to swap.
    const server = await startTestServer({ policies: dir, decisionThreads: 2 });
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
      await until('requests on the first set', () => sent >= 2 * clients.length);
      for (let i = 0; i < reloads; i++) {
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
        // Requests on the set just served: every client answered twice, so once after the reload.
        const mark = sent;
        await until('requests after the reload', () => sent >= mark + 2 * clients.length);
      }
    } finally {
      stop = true;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(reloads * 2 * clients.length);
    expect(seen.size).toBe(expected.size); // requests really ran on every revision
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // Counted: every invalid reload, and every valid one besides the load at start.
    expect(metrics).toMatch(new RegExp(`^fleetguard_policy_reload_failures_total ${invalid}$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^fleetguard_policy_reloads_total ${reloads - invalid + 1}$`, 'm'));
    await server.stop();
  });

  describe('watching the directory', () => {
    // Each step waits for the revision the files now give.
    const served = (server: TestServer) => server.policies.engine!.revision;
    const revisionOf = (dir: string) => compilePolicyDir(dir).policySet!.revision;
    const decisionOn = async (server: TestServer) => (await server.post('/v1/authorize', request)).body.decision;

    it('sees an atomic save (rename over the file), then an in-place edit, then the removal of that file', async () => {
      const dir = policyCopy();
      const server = await startTestServer({ policies: dir, watch: true, decisionThreads: 0 });
      try {
        const original = served(server);
        const extra = join(dir, 'extra.yaml');
        writeFileSync(extra, DENY_RELEASES);
        await until('a new file', () => served(server) === revisionOf(dir));
        expect(await decisionOn(server)).toBe('deny');

        // An editor's save: a new file renamed over the old one (a new inode).
        writeFileSync(join(dir, '.extra.yaml.swp'), DENY_RELEASES.replace('reload test', 'saved by rename'));
        renameSync(join(dir, '.extra.yaml.swp'), extra);
        await until('the atomic save', () => served(server) === revisionOf(dir));

        // The renamed file edited in place: a watch on the old inode would never see this.
        writeFileSync(extra, 'rules: []\n# edited in place\n');
        await until('the in-place edit after the rename', () => served(server) === revisionOf(dir));
        expect(await decisionOn(server)).toBe('allow');

        writeFileSync(extra, DENY_RELEASES.replace('reload test', 'edited again'));
        await until('a second in-place edit', () => served(server) === revisionOf(dir));
        expect(await decisionOn(server)).toBe('deny');

        unlinkSync(extra);
        await until('the removal', () => served(server) === original);
        expect(await decisionOn(server)).toBe('allow');
        expect((await (await fetch(`${server.url}/health`)).json()).watch).toBe('events');
      } finally {
        await server.stop();
      }
    });

    it('costs nothing when an event changes no content', async () => {
      const dir = policyCopy();
      const server = await startTestServer({ policies: dir, watch: true, decisionThreads: 0 });
      try {
        const reloads = server.policies.reloads;
        const checks = server.watcher!.checks;
        writeFileSync(join(dir, 'devices.yaml'), readFileSync(join(dir, 'devices.yaml'))); // same bytes
        writeFileSync(join(dir, 'notes.txt'), 'not a policy\n');
        await until('the events', () => server.watcher!.checks > checks);
        expect(server.policies.reloads).toBe(reloads);
      } finally {
        await server.stop();
      }
    });

    it('follows a Kubernetes ConfigMap volume: files are symlinks through ..data, swapped by one rename', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fleetguard-configmap-'));
      dirs.push(dir);
      // What the kubelet does: each version in its own directory, `..data` points at the current one and
      // every file is a symlink through `..data`. An update renames a new `..data` over the old one, then
      // links the files that are new and removes the old version.
      let previous: string | undefined;
      const publish = (version: string, extra: string | undefined) => {
        const target = join(dir, `..${version}`);
        cpSync(POLICIES_DIR, target, { recursive: true });
        if (extra !== undefined) writeFileSync(join(target, 'extra.yaml'), extra);
        symlinkSync(`..${version}`, join(dir, '..data_tmp'));
        renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
        for (const name of readdirSync(target))
          if (!existsSync(join(dir, name))) symlinkSync(join('..data', name), join(dir, name));
        if (previous) rmSync(previous, { recursive: true });
        previous = target;
      };
      publish('v1', undefined);
      const server = await startTestServer({ policies: dir, watch: true, decisionThreads: 0 });
      try {
        const v1 = served(server);
        publish('v2', DENY_RELEASES);
        await until('the ..data swap to v2', () => served(server) !== v1 && served(server) === revisionOf(dir));
        expect(await decisionOn(server)).toBe('deny');
        publish('v3', 'rules: []\n');
        await until('the ..data swap to v3', () => served(server) === revisionOf(dir) && served(server) !== v1);
        expect(await decisionOn(server)).toBe('allow');
      } finally {
        await server.stop();
      }
    });

    it('falls back to polling when the watcher fails, and says so on /health and in /metrics', async () => {
      const dir = policyCopy();
      let fail: ((e: Error) => void) | undefined;
      const failing: WatchDirectory = (path, listener) => {
        const w = watch(path, { persistent: false }, listener);
        fail = (e) => w.emit('error', e);
        return w;
      };
      const server = await startTestServer({ policies: dir, watch: true, decisionThreads: 0 }, undefined, {
        watchDirectory: failing,
      });
      try {
        const health = async () => (await fetch(`${server.url}/health`)).json();
        const metric = async () =>
          (await (await fetch(`${server.url}/metrics`)).text()).match(/^fleetguard_policy_watch_polling (\d)$/m)?.[1];
        expect((await health()).watch).toBe('events');
        expect(await metric()).toBe('0');
        fail!(Object.assign(new Error('EMFILE: too many open files, watch'), { code: 'EMFILE' }));
        expect(await health()).toMatchObject({ watch: 'polling', watchError: expect.stringContaining('EMFILE') });
        expect(await metric()).toBe('1');
        const before = served(server);
        writeFileSync(join(dir, 'extra.yaml'), DENY_RELEASES);
        await until('a change while polling', () => served(server) !== before && served(server) === revisionOf(dir));
        expect(await decisionOn(server)).toBe('deny');
      } finally {
        await server.stop();
      }
    });

    it('polls from the start when the directory cannot be watched at all (ENOSPC: no inotify watches left)', async () => {
      const dir = policyCopy();
      const noWatches: WatchDirectory = () => {
        throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), {
          code: 'ENOSPC',
        });
      };
      const server = await startTestServer({ policies: dir, watch: true, decisionThreads: 0 }, undefined, {
        watchDirectory: noWatches,
      });
      try {
        expect(await (await fetch(`${server.url}/health`)).json()).toMatchObject({
          watch: 'polling',
          watchError: expect.stringContaining('ENOSPC'),
        });
        const before = served(server);
        writeFileSync(join(dir, 'extra.yaml'), DENY_RELEASES);
        await until('a change while polling', () => served(server) !== before);
        expect(await decisionOn(server)).toBe('deny');
      } finally {
        await server.stop();
      }
    });

    it('says "off" with --no-watch', async () => {
      const server = await startTestServer({ policies: policyCopy(), watch: false, decisionThreads: 0 });
      try {
        expect((await (await fetch(`${server.url}/health`)).json()).watch).toBe('off');
      } finally {
        await server.stop();
      }
    });
  });
});
