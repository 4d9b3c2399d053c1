// The OpenAPI document lists exactly the routes the sidecar registers: fastify's own route table is read
// here independently (printRoutes), so a route added without its documentation, or documentation left for
// a route that is gone, fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ authzenToken: undefined });
});
afterAll(() => server.stop());

/**
 * `METHOD /path/{param}` for every route in fastify's table (HEAD twins of GET routes left out). The table
 * is a tree: a line's text continues its parent's path (`/v1/authorize` then `/batch`, `…/evaluation` then `s`).
 */
function registeredRoutes(): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of server.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    prefixes.length = depth;
    const path = (prefixes[depth - 1] ?? '') + m[2]!;
    prefixes.push(path);
    for (const method of m[3]?.split(', ') ?? [])
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
  }
  return routes.sort();
}

describe('the OpenAPI document', () => {
  it('has one operation for every route registered, and no other', async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, operations]) => Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const registered = registeredRoutes();
    expect(registered).toEqual(expect.arrayContaining(['POST /access/v1/evaluation', 'POST /v1/admin/entities']));
    expect(documented).toEqual(registered);
  });

  it('describes every operation: a summary and its answers', async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(operations)) {
        expect(op.summary, `${method} ${path}`).toMatch(/\w/);
        expect(op.summary, `${method} ${path}`).not.toMatch(/undocumented/i);
        expect(Object.keys(op.responses ?? {}).length, `${method} ${path}`).toBeGreaterThan(0);
      }
    }
  });
});
