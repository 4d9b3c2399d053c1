// Closing the HTTP server without hanging and without cutting requests short. Node closes the
// connections that are idle when the server closes; a keep-alive connection with a request in flight
// goes idle only after that, and Node then keeps it open until the keep-alive timeout (72 s in fastify),
// so shutdown waited that long whenever SIGTERM met a request. Here, once closing starts, the responses
// still to be written say `Connection: close` (the client will not reuse the connection, and Node closes
// it after the response), connections are closed as they go idle, and when the timeout is over whatever
// is left is destroyed.
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How often connections are checked for idleness while closing (a response just sent is never cut). */
const REAP_MS = 10;

export class GracefulClose {
  private readonly sockets = new Set<Socket>();

  /** Tracks the server's connections (one Set entry a connection, nothing a request). */
  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /**
   * Runs `close` (which stops accepting and resolves once every connection has ended) and makes sure the
   * connections do end: at once when idle, after their response otherwise, all of them after `timeoutMs`.
   * Resolves to the number of connections destroyed with a request still in flight.
   */
  async close(close: () => Promise<void>, timeoutMs: number): Promise<{ destroyed: number }> {
    let destroyed = 0;
    const reap = () => {
      for (const socket of this.sockets) {
        // The response being written on this connection (Node's own field; http-terminator reads it too).
        const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (response && !response.headersSent) response.setHeader('connection', 'close');
      }
      this.server.closeIdleConnections();
    };
    const reaper = setInterval(reap, REAP_MS);
    const deadline = setTimeout(() => {
      destroyed = this.sockets.size;
      this.server.closeAllConnections();
    }, timeoutMs);
    try {
      const closed = close();
      reap();
      await closed;
    } finally {
      clearInterval(reaper);
      clearTimeout(deadline);
    }
    return { destroyed };
  }
}
