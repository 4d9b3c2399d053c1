// The request logger made on first use: the same lines with the same request id, nothing made otherwise.
import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { lazyChildLogger } from '../../server/plugins/lazy-request-logger.js';

describe('lazy request logger', () => {
  it('gives the lines a request logs its request id, as an eager child would', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({ write: (chunk, _e, done) => { lines.push(JSON.parse(String(chunk))); done(); } });
    const app = Fastify({ logger: { level: 'info', stream }, childLoggerFactory: lazyChildLogger, logController: new LogController({ disableRequestLogging: true }) });
    app.get('/logs', async (request) => {
      request.log.warn({ n: 1 }, 'first');
      request.log.info('second');
      request.log.debug('below the level');
      return { level: request.log.level };
    });
    app.get('/quiet', async () => ({ ok: true }));
    const logs = await app.inject({ url: '/logs' });
    await app.inject({ url: '/quiet' });
    expect(logs.json()).toEqual({ level: 'info' });
    const own = lines.filter((l) => l.msg === 'first' || l.msg === 'second' || l.msg === 'below the level');
    expect(own.map((l) => [l.msg, l.reqId, l.level])).toEqual([['first', 'req-1', 40], ['second', 'req-1', 30]]);
    expect(own[0]!.n).toBe(1);
    await app.close();
  });

  it('makes no child for a request that logs nothing, and one for a request that logs', () => {
    let made = 0;
    const parent = { level: 'info', child: () => (made++, parent), info: () => {}, warn: () => {} } as unknown as FastifyBaseLogger;
    const quiet = lazyChildLogger.call(undefined as never, parent, { reqId: 'a' }, {}, undefined as never);
    expect(quiet.level).toBe('info');
    expect(made).toBe(0);
    const loud = lazyChildLogger.call(undefined as never, parent, { reqId: 'b' }, {}, undefined as never);
    loud.info('one');
    loud.warn('two');
    expect(made).toBe(1);
  });
});
