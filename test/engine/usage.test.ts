// Least privilege from the log (engine/usage): on the shipped policies and an example pack, logs crafted so
// that exactly known rules never matched, roles' grants computed by partial evaluation, and principals
// holding grants they never used.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authorize, readPolicySources, type AuthorizeRequest, type PolicySet } from '../../engine/index.js';
import { analyzeUsage, rolesOf, type UsageDecision } from '../../engine/usage/index.js';
import { compileOrThrow, REPO_DIR, shippedPolicies } from '../support/policies.js';
import { parse } from 'yaml';
import { suiteRequests } from '../support/suite-requests.js';

const NOW = Date.parse('2026-06-15T00:00:00Z');
const DAY = 86_400_000;
const WINDOW = { since: NOW - 30 * DAY, until: NOW, buckets: 30 };

/** Decides a request with the policies, as the sidecar would, and returns the log's view of it. */
function logged(set: PolicySet, request: AuthorizeRequest, time: number): UsageDecision {
  const d = authorize(set, request, time, 'd');
  return {
    time,
    principalType: request.principal.type,
    principalId: request.principal.id,
    action: request.action,
    resourceType: request.resource.type,
    outcome: d.decision,
    matched: d.matched.map((m) => m.rule),
    policyRevision: d.policyRevision,
  };
}

const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const release = { type: 'release', id: 'r-1', attributes: { fleet: 'f-1', organization: 'o-1' } };

describe('analyzeUsage on the shipped policies', () => {
  const set = shippedPolicies();

  it('names exactly the rules the log never matched', () => {
    // Every request of the shipped suites, decided as the sidecar would.
    const requests = suiteRequests(join(REPO_DIR, 'policies'));
    const all = requests.map((r, i) => logged(set, r, NOW - DAY + i));
    // The suites reach every rule, so a log of them leaves nothing unused.
    expect(analyzeUsage(set, all, [], WINDOW).unusedRules).toEqual([]);
    const dropped = 'developer-ssh-reboot';
    const without = all.filter((d) => !d.matched.includes(dropped));
    const report = analyzeUsage(set, without, [], WINDOW);
    expect(report.unusedRules).toEqual([dropped]);
    expect(report.rules.find((r) => r.id === dropped)).toMatchObject({
      matches: 0,
      verdict: 'remove',
      lastMatched: null,
    });
    expect(report.decisions).toBe(without.length);
  });

  it('counts matches per rule over time, in the window only', () => {
    const req = { principal: device, action: 'read', resource: release, context: {} };
    const log = [
      logged(set, req, NOW - 29.5 * DAY),
      logged(set, req, NOW - 0.5 * DAY),
      logged(set, req, NOW - 0.25 * DAY),
      logged(set, req, NOW - 40 * DAY), // before the window
      logged(set, req, NOW + 1), // after it
    ];
    const report = analyzeUsage(set, log, [], WINDOW);
    const rule = report.rules.find((r) => r.id === 'device-read-fleet-content')!;
    expect(rule.matches).toBe(3);
    expect(rule.series).toHaveLength(30);
    expect(rule.series[0]).toBe(1);
    expect(rule.series[29]).toBe(2);
    expect(rule.series.reduce((a, b) => a + b)).toBe(3);
    expect(rule.lastMatched).toBe(NOW - 0.25 * DAY);
    // It covers read on four resource types and matched on one: narrow it.
    expect(rule.verdict).toBe('narrow');
    expect(rule.exercised).toEqual([{ action: 'read', resource: 'release' }]);
    expect(rule.unexercised.map((p) => p.resource)).toEqual(['fleet_variable', 'build_log', 'image']);
    expect(report.unusedRules).toHaveLength(set.rules.length - 1);
  });

  it("finds the user roles the rules test, and each role's grants by partial evaluation", () => {
    expect(rolesOf(set, 'user').map((r) => r.name)).toEqual([
      'adminOf',
      'memberOf',
      'developerOf',
      'operatorOf',
      'observerOf',
    ]);
    expect(rolesOf(set, 'service').map((r) => r.name)).toEqual(['name = "builder"']);
    expect(rolesOf(set, 'device')).toEqual([]);
    const report = analyzeUsage(set, [], [], WINDOW);
    const role = (principal: string, name: string | null) =>
      report.roles.find((r) => r.principal === principal && r.role === name)!;
    const pairs = (ps: { action: string; resource: string }[]) => ps.map((p) => `${p.action} ${p.resource}`).sort();
    expect(pairs(role('user', 'memberOf').granted)).toEqual(['read organization']);
    expect(pairs(role('user', 'observerOf').granted)).toEqual([
      'read build_log',
      'read device',
      'read fleet',
      'read release',
    ]);
    // An administrator deletes fleets with a second factor: the mfa deny may not apply, so it is granted;
    // nobody but the builder writes images: an unconditional deny takes that back from every user.
    const admin = pairs(role('user', 'adminOf').granted);
    expect(admin).toContain('delete fleet');
    expect(admin).not.toContain('create image');
    expect(pairs(role('service', 'name = "builder"').granted)).toEqual(
      expect.arrayContaining(['create image', 'update image', 'create release', 'read build_log']),
    );
    // A device has no role: its grants are its type's.
    expect(pairs(role('device', null).granted)).toEqual(
      expect.arrayContaining(['read device', 'update device', 'read release']),
    );
    expect(pairs(role('device', null).granted)).not.toContain('delete device');
    expect(role('user', 'memberOf').remove).toEqual(['org-member-read-organization']);
  });

  it('marks the pairs a role used, and the rules to narrow or remove for it', () => {
    const observer = { type: 'user', id: 'u-obs', attributes: { observerOf: ['f-1'] } };
    const fleet = { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } };
    const log = [
      logged(set, { principal: observer, action: 'read', resource: fleet, context: {} }, NOW - DAY),
      logged(set, { principal: observer, action: 'read', resource: { ...release }, context: {} }, NOW - DAY),
    ];
    expect(log.map((d) => d.outcome)).toEqual(['allow', 'allow']);
    const report = analyzeUsage(set, log, [], WINDOW);
    const role = report.roles.find((r) => r.principal === 'user' && r.role === 'observerOf')!;
    expect(role.exercised.map((p) => `${p.action} ${p.resource}`).sort()).toEqual(['read fleet', 'read release']);
    expect(role.unexercised.map((p) => `${p.action} ${p.resource}`).sort()).toEqual(['read build_log', 'read device']);
    const fleetRule = role.granted.find((p) => p.resource === 'fleet')!.rules;
    expect(role.remove).not.toEqual(expect.arrayContaining(fleetRule));
    expect(role.narrow.length + role.remove.length).toBeGreaterThan(0);
  });

  it('lists known principals holding grants they never used, with their attributes from requests or the store', () => {
    const dev = { type: 'user', id: 'u-dev', attributes: { developerOf: ['f-1'] } };
    const idle = { type: 'user', id: 'u-idle', attributes: { memberOf: ['o-1'] } };
    const busy = { type: 'user', id: 'u-busy', attributes: { memberOf: ['o-1'] } };
    const org = { type: 'organization', id: 'o-1' };
    const log = [
      logged(set, { principal: dev, action: 'read', resource: release, context: {} }, NOW - DAY),
      logged(set, { principal: busy, action: 'read', resource: org, context: {} }, NOW - DAY),
      logged(set, { principal: device, action: 'read', resource: release, context: {} }, NOW - DAY),
    ];
    const report = analyzeUsage(
      set,
      log,
      [
        { principal: dev, source: 'request' },
        { principal: busy, source: 'request' },
        { principal: idle, source: 'store' },
      ],
      WINDOW,
    );
    expect(report.principals.map((p) => p.id)).toEqual(['u-dev', 'u-idle']);
    const idleUsage = report.principals.find((p) => p.id === 'u-idle')!;
    expect(idleUsage).toMatchObject({ source: 'store', decisions: 0, granted: 1 });
    expect(idleUsage.unused).toEqual([
      { action: 'read', resource: 'organization', rules: ['org-member-read-organization'] },
    ]);
    const devUsage = report.principals.find((p) => p.id === 'u-dev')!;
    expect(devUsage.decisions).toBe(1);
    expect(devUsage.unused.map((p) => `${p.action} ${p.resource}`)).not.toContain('read release');
    expect(devUsage.unused.map((p) => `${p.action} ${p.resource}`)).toContain('ssh device');
    expect(report.principalsWithoutAttributes).toBe(1); // the device: no request, not in the store
  });

  it('names rules the log holds that these policies do not', () => {
    const d = { ...logged(set, { principal: device, action: 'read', resource: release, context: {} }, NOW - DAY) };
    const report = analyzeUsage(set, [{ ...d, matched: ['retired-rule'] }], [], WINDOW);
    expect(report.unknownRules).toEqual(['retired-rule']);
    expect(report.unusedRules).toHaveLength(set.rules.length);
  });
});

describe('analyzeUsage on an example pack', () => {
  it('finds the one rule of authzen-cert that a log of its fixture decisions never matched', () => {
    const dir = join(REPO_DIR, 'examples/authzen-cert');
    const set = compileOrThrow(readPolicySources(dir));
    const entities = parse(readFileSync(join(dir, 'entities.yaml'), 'utf8')) as {
      entities: { type: string; id: string; attributes?: Record<string, unknown> }[];
    };
    const entity = (id: string) => {
      const e = entities.entities.find((x) => x.id === id)!;
      return { type: e.type, id: e.id, attributes: e.attributes ?? {} };
    };
    // Alice reads and writes record-1; bob reads it. Nobody deletes anything.
    const log = [
      logged(set, { principal: entity('alice'), action: 'read', resource: entity('record-1'), context: {} }, NOW - DAY),
      logged(
        set,
        { principal: entity('alice'), action: 'write', resource: entity('record-1'), context: {} },
        NOW - DAY,
      ),
      logged(set, { principal: entity('bob'), action: 'read', resource: entity('record-1'), context: {} }, NOW - DAY),
    ];
    expect(log.map((d) => d.outcome)).toEqual(['allow', 'allow', 'allow']);
    const used = new Set(log.flatMap((d) => d.matched));
    const report = analyzeUsage(set, log, [], WINDOW);
    expect(report.unusedRules).toEqual(set.rules.map((r) => r.id).filter((id) => !used.has(id)));
    expect(report.unusedRules).toContain('owners-soft-delete');
    expect(report.unusedRules).toContain('admins-write-archived');
  });
});
