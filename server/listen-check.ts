// Whether the sidecar's address can be taken, asked before the database is created or migrated: a busy port is
// then one line and leaves no file behind.
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Rejects with the listen error (EADDRINUSE, EACCES…) that listening on the address would meet. */
export async function checkAddressFree(where: {
  socket?: string | undefined;
  host: string;
  port: number;
}): Promise<void> {
  if (where.socket !== undefined) {
    if (existsSync(where.socket) && (await answers(where.socket)))
      throw Object.assign(new Error(`listen EADDRINUSE: a server is listening on ${where.socket}`), {
        code: 'EADDRINUSE',
      });
    return; // a stale socket file is replaced when the sidecar listens
  }
  if (where.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: where.host, port: where.port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = connect(socket);
    client.once('connect', () => {
      client.destroy();
      resolve(true);
    });
    client.once('error', () => resolve(false));
  });
}
