// The sidecar's own log: JSON lines on stdout (pino). fastify runs without a logger: given one, it times
// every response and sets up two listeners on it even with request logging off, which cost the single
// decision route 4.7 points against the bare route (bench/README.md). A decision never logs a line (it
// goes to the decision log); the few lines a request writes (admin, provisioning, errors) go through
// `requestLog`, since fastify's `request.log` logs nothing.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServerConfig } from './config.js';

export type Log = Logger;

/** To stdout, or to `destination` (tests). */
export function createLog(level: ServerConfig['logLevel'], destination?: DestinationStream): Log {
  return pino({ level }, destination);
}

/** The log for lines about one request: each line names it (`reqId`), as fastify's request logger did. */
export function requestLog(log: Log, request: { id: string }): Log {
  return log.child({ reqId: request.id });
}
