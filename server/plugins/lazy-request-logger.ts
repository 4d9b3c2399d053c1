// fastify gives every request a pino child logger bound to its id, made before the handler runs. A
// decision never logs (it goes to the decision log), so here the child is made on a request's first log
// line: the same lines, with the same `reqId`, and nothing made for the requests that log nothing.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type Bindings = Record<string, unknown>;
type ChildFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

class LazyChild {
  private made: FastifyBaseLogger | undefined;
  constructor(private readonly parent: FastifyBaseLogger, private readonly bindings: Bindings, private readonly options: object) {}

  get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }
  get level(): string {
    return this.made?.level ?? (this.options as { level?: string }).level ?? this.parent.level;
  }
  set level(level: string) {
    this.real.level = level;
  }
  child(bindings: Bindings, options?: object): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
  silent(): void {}
}
for (const level of LEVELS) {
  Object.defineProperty(LazyChild.prototype, level, {
    value(this: LazyChild, ...args: unknown[]) {
      return (this.real[level] as (...a: unknown[]) => void)(...args);
    },
  });
}

export const lazyChildLogger: ChildFactory = (logger, bindings, options) => new LazyChild(logger, bindings, options) as unknown as FastifyBaseLogger;
