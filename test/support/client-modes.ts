// The two ways a service asks Fleetguard, for tests that must hold in both: a client of a listening
// sidecar (HTTP) and an embedded client deciding in process from the same policy directory.
import { createClient, type FleetguardClient, type HttpClientOptions } from '../../client/client.js';
import { startTestServer, type TestServer } from './server.js';

export interface ModeContext {
  client: FleetguardClient;
  /** The sidecar, in HTTP mode. */
  server?: TestServer;
  stop(): Promise<void>;
}

export interface Mode {
  name: 'http' | 'embedded';
  start(policies: string, options?: HttpClientOptions): Promise<ModeContext>;
}

/** Generous: a busy test machine must not turn a slow answer into a deny (fail-closed tests set their own). */
const TIMEOUT_MS = 30_000;

export const MODES: Mode[] = [
  {
    name: 'http',
    async start(policies, options = {}) {
      const server = await startTestServer({ policies });
      const client = createClient({ url: server.url, timeoutMs: TIMEOUT_MS, ...options });
      await client.ready();
      return {
        client,
        server,
        async stop() {
          await client.close();
          await server.stop();
        },
      };
    },
  },
  {
    name: 'embedded',
    async start(policies, options = {}) {
      const client = createClient({ policies, timeoutMs: options.timeoutMs ?? TIMEOUT_MS });
      await client.ready();
      return { client, stop: () => client.close() };
    },
  },
];
