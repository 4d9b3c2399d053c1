// A real sidecar on an ephemeral loopback port with a temporary database, for HTTP tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, type ServerConfig } from '../../server/config.js';
import type { Log } from '../../server/log.js';
import { startServer, type RunningServer, type StartOptions } from '../../server/main.js';
import { POLICIES_DIR } from './policies.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestServer extends RunningServer {
  url: string;
  dir: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<Record<keyof ServerConfig, unknown>> = {},
  log?: Log,
  options?: StartOptions,
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetguard-server-'));
  const config = resolveConfig(
    {
      host: '127.0.0.1',
      port: 0,
      policies: POLICIES_DIR,
      db: join(dir, 'test.db'),
      adminToken: ADMIN_TOKEN,
      logLevel: 'silent',
      watch: false,
      // Each decision thread loads the engine and compiles the policies again: the tests about the
      // threads (decision-pool, shadow, credential-names, …) ask for them; the others decide batches on
      // the request thread, with the same code (decide-batch.ts).
      decisionThreads: 0,
      ...overrides,
    },
    {},
  );
  const server = await startServer(config, log, options);
  const url = server.address;
  return {
    ...server,
    url,
    dir,
    async post(path, body, headers = {}) {
      const res = await fetch(url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
