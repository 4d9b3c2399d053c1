// The README's "For auditors" walkthrough, run as written: its `sh` blocks, in order, in a git repository
// holding the shipped policies and the walkthrough's traffic (as a clone would), with `npx fleetguard` and
// `node bin/fleetguard.js` pointing at this checkout's CLI. Each `# ` line under a command is a line the
// commands must print, in that order (`…` stands for anything; a line of `…` alone for any lines).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetguard-readme-auditors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function section(): string {
  const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## For auditors\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end);
}

/** The `sh` blocks' text, and the lines each block says its commands print. */
function blocks(text: string): { script: string; expected: string[] }[] {
  return [...text.matchAll(/```sh\n([\s\S]*?)\n```/g)].map(([, body]) => ({
    script: body!,
    expected: body!
      .split('\n')
      .filter((l) => l === '#' || l.startsWith('# '))
      .map((l) => l.slice(2)),
  }));
}

const pattern = (line: string) =>
  new RegExp(
    `^${line
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Every expected line matches an output line, in order; `…` alone skips any lines. */
function expectInOrder(output: string, expected: string[]): void {
  const lines = output.split('\n');
  let at = 0;
  for (const want of expected) {
    if (want === '…') continue;
    const re = pattern(want);
    const found = lines.findIndex((l, i) => i >= at && re.test(l));
    expect(found, `"${want}" after line ${at} of:\n${output}`).toBeGreaterThanOrEqual(0);
    at = found + 1;
  }
}

describe('README: For auditors', () => {
  it.skipIf(!existsSync('/usr/bin/curl'))('runs as written and prints what it says', () => {
    const repo = join(tmp, 'clone');
    mkdirSync(join(repo, 'docs'), { recursive: true });
    cpSync(join(REPO_DIR, 'policies'), join(repo, 'policies'), { recursive: true });
    cpSync(join(REPO_DIR, 'docs/walkthrough'), join(repo, 'docs/walkthrough'), { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.email=r@example.com', '-c', 'user.name=r', ...args], { cwd: repo });
    git('init', '-q');
    git('add', '.');
    git('commit', '-qm', 'a clone');
    const before = readdirSync(join(repo, 'policies')).sort();

    const found = blocks(section());
    expect(found.length).toBeGreaterThanOrEqual(2);
    const cli = `node ${JSON.stringify(join(REPO_DIR, 'bin/fleetguard.js'))}`;
    for (const { script, expected } of found) {
      const runnable = script.replaceAll('npx fleetguard', cli).replaceAll('node bin/fleetguard.js', cli);
      const r = spawnSync('bash', ['-c', runnable], {
        cwd: repo,
        encoding: 'utf8',
        timeout: 300_000,
        // The walkthrough's sidecars decide its one batch on the request thread: decision threads are not
        // its subject, and each would load the engine and compile the policies again.
        env: { ...process.env, FLEETGUARD_DECISION_THREADS: '0' },
      });
      expect(r.status, r.stderr).toBe(0);
      expectInOrder(r.stdout, expected);
    }
    // The walkthrough leaves the policies and the clone as they were.
    expect(readdirSync(join(repo, 'policies')).sort()).toEqual(before);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toBe('');
  });
});
