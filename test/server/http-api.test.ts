// The HTTP contract of the README ("The sidecar") against a real listening sidecar.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryDecisions } from '../../server/decision-log/decision-log.js';
import { defaultDecisionThreads } from '../../server/config.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.js';

const device = { type: 'device', id: 'd-1', attributes: { fleet: 'f-1', organization: 'o-1' } };
const release = (fleet: string) => ({ type: 'release', id: `r-${fleet}`, attributes: { fleet, organization: 'o-1' } });

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ batchLimit: 50, bodyLimit: 64 * 1024, decisionThreads: defaultDecisionThreads() });
});
afterAll(() => server.stop());

describe('POST /v1/authorize', () => {
  it('allows a device to read its own fleet release, naming the rule and the revision', async () => {
    const { status, body } = await server.post('/v1/authorize', {
      principal: device,
      action: 'read',
      resource: release('f-1'),
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      decision: 'allow',
      allowed: true,
      decisionId: expect.any(String),
      policyRevision: server.policies.engine!.revision,
      matched: [{ policy: 'devices.yaml', rule: 'device-read-fleet-content', effect: 'allow' }],
    });
  });

  it('denies another fleet with a reason (a deny is a 200)', async () => {
    const { status, body } = await server.post('/v1/authorize', {
      principal: device,
      action: 'read',
      resource: release('f-2'),
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      decision: 'deny',
      allowed: false,
      matched: [],
      reason: 'no rule allows this request',
    });
  });

  it('reports evaluation errors in a deny', async () => {
    const key = {
      type: 'provisioning_key',
      id: 'pk',
      attributes: {
        fleet: 'f-1',
        organization: 'o-1',
        expiresAt: '2099-01-01T00:00:00Z',
        allowedCidrs: ['10.0.0.0/8'],
        registrations: 0,
        revoked: false,
      },
    };
    const { body } = await server.post('/v1/authorize', {
      principal: key,
      action: 'register',
      resource: { type: 'fleet', id: 'f-1', attributes: { organization: 'o-1' } },
    });
    expect(body).toMatchObject({
      decision: 'deny',
      errors: [{ code: 'missing-attribute', message: 'context.ip is missing', rule: 'provisioning-key-register' }],
    });
  });

  it.each([
    [{ principal: 'alice', action: 'read', resource: release('f-1') }, 'invalid_request', 'principal'],
    [{ principal: device, resource: release('f-1') }, 'invalid_request', 'action'],
    [{ principal: { ...device, id: 7 }, action: 'read', resource: release('f-1') }, 'invalid_request', 'principal.id'],
    [{ principal: device, action: 'read', resource: { type: 'release' } }, 'invalid_request', 'resource.id'],
    [
      { principal: { ...device, type: 'robot' }, action: 'read', resource: release('f-1') },
      'unknown_principal_type',
      'principal.type',
    ],
    [{ principal: device, action: 'fly', resource: release('f-1') }, 'unknown_action', 'action'],
    [
      { principal: device, action: 'read', resource: { type: 'castle', id: 'c' } },
      'unknown_resource_type',
      'resource.type',
    ],
  ])('rejects %j with 400 %s at %s', async (body, code, path) => {
    const res = await server.post('/v1/authorize', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code, path });
    expect(res.body.error.message).toEqual(expect.any(String));
  });

  it('ignores unknown fields', async () => {
    const res = await server.post('/v1/authorize', {
      principal: device,
      action: 'read',
      resource: release('f-1'),
      extra: 1,
    });
    expect(res.body.decision).toBe('allow');
  });

  it('rejects malformed JSON, an empty body, a non-JSON type and an oversized body', async () => {
    expect(await server.post('/v1/authorize', '{"principal":')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_json' } },
    });
    expect(await server.post('/v1/authorize', '')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_json' } },
    });
    expect(await server.post('/v1/authorize', '[]')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request' } },
    });
    expect(
      await server.post('/v1/authorize', 'principal=x', { 'content-type': 'application/x-www-form-urlencoded' }),
    ).toMatchObject({ status: 415 });
    const big = {
      principal: { ...device, attributes: { ...device.attributes, pad: 'x'.repeat(70 * 1024) } },
      action: 'read',
      resource: release('f-1'),
    };
    expect(await server.post('/v1/authorize', big)).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large' } },
    });
  });
});

describe('POST /v1/authorize/batch', () => {
  it('answers in request order from one revision', async () => {
    const requests = Array.from({ length: 30 }, (_, i) => ({
      principal: device,
      action: 'read',
      resource: release(i % 3 === 0 ? 'f-1' : `f-other-${i}`),
    }));
    const { status, body } = await server.post('/v1/authorize/batch', { requests });
    expect(status).toBe(200);
    expect(body.results.map((r: { allowed: boolean }) => r.allowed)).toEqual(requests.map((_, i) => i % 3 === 0));
    expect(new Set(body.results.map((r: { policyRevision: string }) => r.policyRevision)).size).toBe(1);
  });

  it('enforces the configured batch limit and names the bad item', async () => {
    const one = { principal: device, action: 'read', resource: release('f-1') };
    expect(await server.post('/v1/authorize/batch', { requests: Array(51).fill(one) })).toMatchObject({
      status: 400,
      body: { error: { code: 'batch_too_large', path: 'requests' } },
    });
    expect(await server.post('/v1/authorize/batch', { requests: [] })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', path: 'requests' } },
    });
    const bad = await server.post('/v1/authorize/batch', { requests: [one, { ...one, action: 'fly' }] });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'unknown_action', path: 'requests.1.action' } } });
  });
});

describe('operations', () => {
  it('health, readiness and the OpenAPI document', async () => {
    const health = await (await fetch(`${server.url}/health`)).json();
    expect(health).toMatchObject({
      status: 'ok',
      policyRevision: server.policies.engine!.revision,
      lastReload: { ok: true },
    });
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/authorize',
        '/v1/authorize/batch',
        '/health',
        '/ready',
        '/metrics',
        '/v1/admin/reload',
      ]),
    );
    expect(doc.components.schemas.AuthorizeRequest.required).toEqual(['principal', 'action', 'resource']);
    expect(doc.components.schemas.BatchRequest.properties.requests.maxItems).toBe(50);
  });

  it('exposes decisions, latency, revision, reloads and the decision log in /metrics', async () => {
    await server.post('/v1/authorize', { principal: device, action: 'read', resource: release('f-1') });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^fleetguard_decisions_total\{outcome="allow",principal_type="device"\} [1-9]\d*$/m);
    expect(text).toMatch(/^fleetguard_http_request_duration_seconds_count\{route="authorize"\} [1-9]\d*$/m);
    expect(text).toContain(`fleetguard_policy_revision_info{revision="${server.policies.engine!.revision}"} 1`);
    expect(text).toMatch(new RegExp(`^fleetguard_decision_threads_running ${defaultDecisionThreads()}$`, 'm'));
    for (const name of [
      'fleetguard_policy_reloads_total',
      'fleetguard_policy_reload_failures_total',
      'fleetguard_decision_log_queue_depth',
      'fleetguard_decision_log_dropped_total',
      'fleetguard_decision_log_written_total',
      'fleetguard_decision_threads_loaded',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d+$`, 'm'));
    }
    // Node's default metrics under their standard names, which dashboards look for.
    expect(text).toMatch(/^process_cpu_seconds_total [\d.e+-]+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds [\d.e+-]+$/m);
    expect(text).not.toMatch(/^fleetguard_(process|nodejs)_/m);
  });

  it('guards admin endpoints with the bearer token', async () => {
    expect((await server.post('/v1/admin/reload', {})).status).toBe(401);
    expect((await server.post('/v1/admin/reload', {}, { authorization: 'Bearer wrong-token-xxxxxxxxxx' })).status).toBe(
      401,
    );
    const ok = await server.post('/v1/admin/reload', {}, { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(ok).toMatchObject({ status: 200, body: { ok: true, revision: server.policies.engine!.revision } });
  });

  it('records every decision in the decision log, never the admin token', async () => {
    const before = server.decisionLog.stats.written + server.decisionLog.queueDepth;
    await server.post('/v1/authorize/batch', {
      requests: [
        { principal: device, action: 'read', resource: release('f-1') },
        { principal: device, action: 'ssh', resource: release('f-1') },
      ],
    });
    await server.decisionLog.drain();
    expect(server.decisionLog.stats.written).toBe(before + 2);
    const rows = queryDecisions(server.db, { principal: 'd-1', limit: 10_000 });
    const last = rows.slice(-2);
    expect(last.map((r) => [r.action, r.outcome, r.matched])).toEqual([
      ['read', 'allow', ['device-read-fleet-content']],
      ['ssh', 'deny', []],
    ]);
    expect(last[0]).toMatchObject({
      principalType: 'device',
      resourceType: 'release',
      resourceId: 'r-f-1',
      policyRevision: server.policies.engine!.revision,
    });
    expect(JSON.stringify(rows)).not.toContain(ADMIN_TOKEN);
  });
});

describe('without an admin token', () => {
  it('admin endpoints do not exist', async () => {
    const bare = await startTestServer({ adminToken: undefined });
    try {
      expect((await bare.post('/v1/admin/reload', {}, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(404);
    } finally {
      await bare.stop();
    }
  });
});

describe('on a Unix socket', () => {
  it('serves /v1/authorize on the socket path', async () => {
    const { request } = await import('node:http');
    const { tmpdir } = await import('node:os');
    const socket = join(tmpdir(), `fleetguard-${process.pid}-${Date.now()}.sock`);
    const s = await startTestServer({ socket });
    try {
      expect(s.address).toBe(socket);
      const body = JSON.stringify({ principal: device, action: 'read', resource: release('f-1') });
      const answer = await new Promise<string>((resolve, reject) => {
        const req = request(
          {
            socketPath: socket,
            path: '/v1/authorize',
            method: 'POST',
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(JSON.parse(answer)).toMatchObject({ decision: 'allow' });
    } finally {
      await s.stop();
    }
  });
});
