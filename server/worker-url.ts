// Where a thread's module is. Built, it is the compiled file beside the caller. Under the test runner the
// caller is a TypeScript source, and a thread must run the same sources, never a stale build: Node 20
// runs no TypeScript by itself (no --experimental-strip-types before 22), so the thread starts from a
// bootstrap that registers module hooks (threads-from-sources.mjs: `.js` imports resolve to the `.ts`
// beside them, compiled by the oxc transform rolldown/utils exports, which vitest's vite already
// installs), then imports the source.
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const HOOKS = new URL('./threads-from-sources.mjs', import.meta.url);

/** The URL to start a Worker on for `module`, a `.js` URL beside its caller (`new URL('./x.js', import.meta.url)`). */
export function workerUrl(module: URL): URL {
  if (!FROM_SOURCES) return module;
  const source = new URL(module.href.replace(/\.js$/, '.ts'));
  const bootstrap = `import { register } from 'node:module';
register(${JSON.stringify(HOOKS.href)});
await import(${JSON.stringify(source.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
