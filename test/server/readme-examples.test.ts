// The README's sidecar examples, run against a listening sidecar: each `curl` with a JSON body must get
// the answer written under it (`…` stands for anything; a leading status such as `400` is the status).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Example {
  path: string;
  body: string;
  status: number;
  expected: string;
}

/** The curl commands of the first `sh` block after `heading`, with the comment lines right under each. */
function examples(heading: string): Example[] {
  const readme = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(heading));
  const block = section.slice(section.indexOf('```sh\n') + 6, section.indexOf('\n```', section.indexOf('```sh\n')));
  const found: Example[] = [];
  const curl = /curl -s localhost:8181(\S+) -H 'content-type: application\/json' -d '([^']*)'\n((?:#.*\n?)*)/g;
  for (const [, path, body, comments] of block.matchAll(curl)) {
    const answer = comments!
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .map((l) => l.replace(/^#\s*/, ''))
      .join('');
    const status = /^(\d{3}) /.exec(answer);
    found.push({
      path: path!,
      body: body!,
      status: status ? Number(status[1]) : 200,
      expected: status ? answer.slice(4) : answer,
    });
  }
  return found;
}

const pattern = (expected: string) =>
  new RegExp(
    `^${expected
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

let server: TestServer;
beforeAll(async () => {
  // Decision threads are not the subject: batches are decided on the request thread.
  server = await startTestServer({ decisionThreads: 0 });
});
afterAll(() => server.stop());

describe('README: the sidecar', () => {
  const cases = examples('## The sidecar').filter((e) => !e.body.includes('…'));

  it('has examples to run', () => expect(cases.length).toBeGreaterThanOrEqual(2));

  it.each(cases.map((c) => [c.path, c] as const))('%s answers as documented', async (_path, c) => {
    const res = await fetch(server.url + c.path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: c.body,
    });
    expect(res.status).toBe(c.status);
    expect(await res.text()).toMatch(pattern(c.expected));
  });
});
