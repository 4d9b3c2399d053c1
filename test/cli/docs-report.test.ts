// `fleetguard docs`: the report as a reader sees it, in a real headless browser (Debian's chromium
// driven by playwright-core, one browser for the file), and its Markdown twin. The command runs its main() in
// this process (fleetguardInProcess), without a process's module loading and solver start; the README's
// walkthrough runs `docs --log` as a real process (test/repo/readme-auditors.test.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorize } from '../../engine/index.js';
import { fleetguardInProcess } from '../support/cli-in-process.js';
import { writeDecisionLog } from '../support/decision-log-file.js';
import { REPO_DIR, shippedPolicies } from '../support/policies.js';
import { suiteRequests } from '../support/suite-requests.js';

const CHROMIUM = '/usr/bin/chromium';
const out = mkdtempSync(join(tmpdir(), 'fleetguard-docs-'));
const withLog = join(out, 'with-log');
afterAll(() => rmSync(out, { recursive: true, force: true }));
const DAY = 86_400_000;
/** The log's first day: 14 days of traffic from it, in one bar a day. */
const START = Math.floor(Date.now() / DAY) * DAY - 20 * DAY;
const UNUSED = 'developer-ssh-reboot';
const BUSY = 'device-read-fleet-content';

let launched: Promise<Browser> | undefined;
/** The file's one browser, launched when a test first asks for it; each test opens its own page. */
const launch = () =>
  (launched ??= chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  }));
afterAll(() => launched?.then((b) => b.close()));

describe('fleetguard docs', () => {
  beforeAll(async () => {
    const r = await fleetguardInProcess(['docs', 'policies', '--out', out], { cwd: REPO_DIR });
    expect(r.status).toBe(0);
  });

  it('writes Markdown with the matrix, every rule, the invariants and the revision', () => {
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    const set = shippedPolicies();
    expect(md).toContain(`Policy revision \`${set.revision}\``);
    for (const rule of set.rules) expect(md).toContain(`: ${rule.id}\n`);
    expect(md).toMatch(/\| \*\*PROVED\*\* \| device-fleet-isolation \|/);
    expect(md).toContain("| release | if the resource's fleet is the principal's fleet | deny |");
  });

  it('keeps every table row on one line, whatever the descriptions hold', () => {
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(
      /\| \*\*PROVED\*\* \| provisioning-key-register-only \| A provisioning key .*limits\. \| invariants\.yaml:\d+ \|\n/,
    );
    // A table is a header line, a rule line and rows: each row starts and ends with a pipe.
    const lines = md.split('\n');
    lines.forEach((line, i) => {
      if (i > 0 && lines[i - 1]!.startsWith('|')) expect(line === '' || /^\|.*\|$/.test(line), line).toBe(true);
    });
  });

  describe.skipIf(!existsSync(CHROMIUM))('in a headless browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launch();
    });

    it('shows the revision, the proved invariants, the matrix with conditions in words, and each rule with its source', async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(pathToFileURL(join(out, 'index.html')).href);
      const set = shippedPolicies();
      expect(await page.title()).toBe(`Fleetguard policy report ${set.revision}`);
      expect(await page.locator('#revision').textContent()).toBe(set.revision);
      const statuses = await page.locator('#invariants tbody td.status').allInnerTexts();
      expect(statuses).toEqual(['PROVED', 'PROVED', 'PROVED', 'PROVED', 'PROVED']);
      const cell = (key: string) => page.locator(`td[data-cell="${key}"]`);
      expect(await cell('device/release/read').textContent()).toContain(
        "if the resource's fleet is the principal's fleet",
      );
      expect(await cell('device/release/read').getAttribute('class')).toBe('conditional');
      expect(await cell('device/release/delete').textContent()).toBe('deny');
      expect(await cell('provisioning_key/fleet/register').textContent()).toContain(
        "the request's ip is within one of the principal's allowedCidrs",
      );
      expect(await cell('user/fleet/delete').textContent()).toMatch(
        /unless it is not the case that the request's mfa is true|unless the request's mfa is not true/,
      );
      expect(await cell('user/image/create').textContent()).toBe('deny');
      const rule = set.rules.find((r) => r.id === 'device-read-fleet-content')!;
      expect(await page.locator('#rule-device-read-fleet-content .source').textContent()).toBe(
        `devices.yaml:${rule.at.line}`,
      );
      expect(await page.locator('#rule-device-read-fleet-content .description').isVisible()).toBe(true);
      const shot = await page.screenshot({ path: join(out, 'report.png') });
      expect(shot.length).toBeGreaterThan(10_000);
      await page.close();
    });
  });
});

describe('fleetguard docs --log', () => {
  const set = shippedPolicies();
  /** The busy rule's matches a day: the suites' once on day 0, and 3 more on each of days 4 and 5. */
  let busyMatches = 0;

  beforeAll(async () => {
    // The shipped suites' traffic on day 0 without the requests the unused rule decides; one of the busy
    // rule's requests again three times on days 4 and 5.
    const db = join(out, 'log.db');
    const decides = (id: string) => (r: Parameters<typeof authorize>[1]) =>
      authorize(set, r, START, 'x').matched.some((m) => m.rule === id);
    const requests = suiteRequests(join(REPO_DIR, 'policies')).filter((r) => !decides(UNUSED)(r));
    const busy = requests.find(decides(BUSY))!;
    busyMatches = requests.filter(decides(BUSY)).length + 6;
    await writeDecisionLog(
      db,
      set,
      [
        ...requests.map((request, i) => ({ request, time: START + i * 1000 })),
        ...[4, 4, 4, 5, 5, 5].map((day, i) => ({ request: busy, time: START + day * DAY + i * 1000 })),
        // The last decision on day 13: the log spans 14 days.
        { request: busy, time: START + 13 * DAY + 1 },
      ],
      { logRequests: false },
    );
    busyMatches++;
    const r = await fleetguardInProcess(['docs', 'policies', '--out', withLog, '--log', db], { cwd: REPO_DIR });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('adds a Usage section to the Markdown: each rule with its matches, the unused one marked', () => {
    const md = readFileSync(join(withLog, 'report.md'), 'utf8');
    const usage = md.split('\n## Usage\n')[1]!;
    expect(usage).toContain('each bar is one day. 1 of 27 rules never matched.');
    expect(usage).toContain(`| **${UNUSED}** (never matched) | 0 | \`${'·'.repeat(14)}\` | never |`);
    const busy = usage.split('\n').find((l) => l.startsWith(`| ${BUSY} |`))!;
    expect(busy).toContain(`| ${busyMatches} | \`█···▆▆·······▂\``);
  });

  it('refuses a log that does not exist, in one line', async () => {
    const r = await fleetguardInProcess(
      ['docs', 'policies', '--out', join(out, 'nothing'), '--log', join(out, 'nope.db')],
      {
        cwd: REPO_DIR,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`fleetguard docs: no database at ${join(out, 'nope.db')} (--log FILE)\n`);
  });

  describe.skipIf(!existsSync(CHROMIUM))('in a headless browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launch();
    });

    it("shows each rule's matches as a bar chart a day, the unused rule highlighted, and runs no script", async () => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      await page.goto(pathToFileURL(join(withLog, 'index.html')).href);
      expect(await page.locator('script').count()).toBe(0);
      const usage = page.locator('#usage');
      expect(await usage.locator('h2').textContent()).toBe('Usage');
      expect(await usage.locator('tbody tr').count()).toBe(set.rules.length);

      const unused = usage.locator(`tr[data-rule="${UNUSED}"]`);
      expect(await unused.getAttribute('class')).toBe('unused');
      expect(await unused.locator('.badge').isVisible()).toBe(true);
      expect(await unused.locator('.badge').textContent()).toBe('never matched');
      expect(await unused.evaluate((row) => getComputedStyle(row).backgroundColor)).toBe('rgb(255, 235, 233)');
      expect(await usage.locator('tr.unused').count()).toBe(1);
      expect(await page.locator(`#rule-${UNUSED} .badge`).textContent()).toBe('never matched in the log');

      const busy = usage.locator(`tr[data-rule="${BUSY}"]`);
      expect(await busy.getAttribute('class')).toBe('used');
      expect(await busy.locator('td.count').textContent()).toBe(String(busyMatches));
      const bars = busy.locator('svg.usage-chart rect');
      expect(await bars.count()).toBe(14);
      const counts = await bars.evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('data-count'))));
      expect(counts.reduce((a, b) => a + b)).toBe(busyMatches);
      expect(counts[4]).toBe(3);
      // Taller bars for more matches, as drawn.
      const heights = await bars.evaluateAll((rects) => rects.map((r) => r.getBoundingClientRect().height));
      expect(heights[0]).toBeGreaterThan(heights[4]!);
      expect(heights[4]).toBeGreaterThan(heights[1]!);
      expect(await bars.nth(4).locator('title').textContent()).toBe(
        `${new Date(START + 4 * DAY).toISOString().slice(0, 10)}: 3 matches`,
      );
      expect(await busy.locator('svg').getAttribute('aria-label')).toMatch(
        new RegExp(`^${BUSY}: ${busyMatches} matches`),
      );
      await usage.scrollIntoViewIfNeeded();
      const shot = await usage.screenshot({ path: process.env.FLEETGUARD_SHOT ?? join(out, 'usage.png') });
      expect(shot.length).toBeGreaterThan(10_000);
      await page.close();
    });
  });
});
