// Worker threads run compiled JavaScript. The test runner runs the TypeScript sources, so from there a
// worker's module is the compiled file in dist/ (which `npm test` builds first).
const FROM_SOURCES = import.meta.url.endsWith('.ts');

/** The URL of the worker module at `path` (relative to server/, ending in .js). */
export function workerUrl(path: string): URL {
  return FROM_SOURCES ? new URL(`../dist/server/${path}`, import.meta.url) : new URL(path, import.meta.url);
}
