// `fleetguard docs`: the report as a reader sees it, in a real headless browser (Debian's chromium
// driven by playwright-core), and its Markdown twin.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetguard } from '../support/cli.js';
import { shippedPolicies } from '../support/policies.js';

const CHROMIUM = '/usr/bin/chromium';
const out = mkdtempSync(join(tmpdir(), 'fleetguard-docs-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('fleetguard docs', () => {
  beforeAll(() => {
    const r = fleetguard(['docs', 'policies', '--out', out]);
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
      browser = await chromium.launch({
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
      });
    });
    afterAll(() => browser?.close());

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
