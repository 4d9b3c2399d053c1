// JSON over HTTP to a sidecar (or any AuthZEN PDP) with undici: keep-alive connections in a pool, one
// deadline a call covering its retries, and retries only where they are safe and may help.
import { Pool } from 'undici';
import { backoffMs, RetryBudget } from './retry-budget.js';
import { Rejected, Unreachable } from './fail-closed.js';

export interface HttpTransportOptions {
  url?: string;
  socketPath?: string;
  token?: string;
  timeoutMs: number;
  connections: number;
  maxAttempts: number;
}

/**
 * Failures before any answer that trying again may cure: the sidecar restarting (refused, socket file
 * missing), or a keep-alive connection it closed as this request went out. Every call is a query (no
 * state changes; a decision asked twice is logged twice), so resending is safe.
 */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOENT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** Statuses that say "not now" rather than "no": not ready yet (503), or a proxy between us (502, 504). */
const RETRYABLE_STATUS = new Set([502, 503, 504]);

export class HttpTransport {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
  private readonly budget = new RetryBudget();
  private closed = false;

  constructor(private readonly options: HttpTransportOptions) {
    const { url, socketPath } = options;
    if ((url === undefined) === (socketPath === undefined))
      throw new TypeError('createClient: give exactly one of url, socketPath or policies');
    const base = new URL(url ?? 'http://localhost');
    this.basePath = base.pathname.replace(/\/$/, '');
    this.pool = new Pool(base.origin, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      ...(socketPath === undefined ? {} : { socketPath }),
    });
    this.headers = {
      'content-type': 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    };
  }

  /** The parsed JSON of a 200 answer; throws Unreachable or Rejected. */
  async post(path: string, body: string): Promise<unknown> {
    return this.send('POST', path, body);
  }

  async get(path: string): Promise<unknown> {
    return this.send('GET', path, undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }

  private async send(method: 'GET' | 'POST', path: string, body: string | undefined): Promise<unknown> {
    if (this.closed) throw new Unreachable('the client is closed');
    const deadline = performance.now() + this.options.timeoutMs;
    this.budget.deposit();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(method, path, body, deadline);
      } catch (e) {
        const wait = backoffMs(attempt - 1);
        const retry =
          e instanceof Unreachable &&
          e.retryable &&
          !this.closed &&
          attempt < this.options.maxAttempts &&
          performance.now() + wait < deadline &&
          this.budget.withdraw();
        if (!retry) throw e;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async attempt(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    deadline: number,
  ): Promise<unknown> {
    const remaining = deadline - performance.now();
    if (remaining <= 0) throw new Unreachable(`no answer within ${this.options.timeoutMs} ms`);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), remaining);
    let status: number;
    let text: string;
    try {
      const res = await this.pool.request({
        method,
        path: this.basePath + path,
        headers: this.headers,
        body,
        signal: abort.signal,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      if (abort.signal.aborted)
        throw new Unreachable(`no answer within ${this.options.timeoutMs} ms`, false, { cause: e });
      const code = (e as { code?: unknown }).code;
      const message = e instanceof Error ? e.message : String(e);
      throw new Unreachable(
        typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message,
        typeof code === 'string' && RETRYABLE_CODES.has(code),
        { cause: e },
      );
    } finally {
      clearTimeout(timer);
    }
    if (status === 200) {
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Unreachable('the answer is not JSON', false, { cause: e });
      }
    }
    if (status >= 400 && status < 500) throw rejection(status, text);
    throw new Unreachable(`HTTP ${status}${summary(text)}`, RETRYABLE_STATUS.has(status));
  }
}

/** A 4xx as Rejected, with the `{ error: { code, message, path? } }` body when there is one. */
function rejection(status: number, text: string): Rejected {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: worded from the status
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; path?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string')
    return new Rejected(
      typeof error.code === 'string' ? error.code : `http_${status}`,
      error.message,
      typeof error.path === 'string' ? error.path : undefined,
      status,
    );
  return new Rejected(`http_${status}`, `HTTP ${status}${summary(text)}`, undefined, status);
}

const summary = (text: string) => (text.length === 0 ? '' : `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
