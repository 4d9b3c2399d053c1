// A stand-in for the sidecar that answers however a test says (garbage, 5xx, silence, a closed socket),
// counting requests, batch sizes and connections: the client's behaviour when the service misbehaves.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubRequest {
  method: string;
  path: string;
  body: any;
  headers: IncomingMessage['headers'];
}

export type StubHandler = (req: StubRequest, res: ServerResponse) => void;

export interface StubPdp {
  url: string;
  requests: StubRequest[];
  connections: number;
  handle: StubHandler;
  close(): Promise<void>;
}

/** A decision that echoes the resource id (so each caller can tell its own) and allows fleet f-1. */
export function echoDecision(request: any): Record<string, unknown> {
  const allowed = request?.resource?.attributes?.fleet === 'f-1';
  return {
    decision: allowed ? 'allow' : 'deny',
    allowed,
    decisionId: `id-${request?.resource?.id}`,
    policyRevision: 'stub',
    matched: allowed ? [{ policy: 'stub.yaml', rule: 'stub', effect: 'allow' }] : [],
  };
}

/** Answers /v1/authorize and /v1/authorize/batch with echoDecision. */
export const echo: StubHandler = (req, res) => {
  const answer =
    req.path === '/v1/authorize/batch' ? { results: req.body.requests.map(echoDecision) } : echoDecision(req.body);
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
};

export async function startStubPdp(handle: StubHandler = echo): Promise<StubPdp> {
  const stub: StubPdp = { url: '', requests: [], connections: 0, handle, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => (text += chunk));
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      const r = { method: req.method ?? '', path: req.url ?? '', body, headers: req.headers };
      stub.requests.push(r);
      stub.handle(r, res);
    });
  });
  server.on('connection', () => stub.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
