// Module hooks for threads started from TypeScript sources under the test runner (worker-url.ts): a
// relative `.js` import that does not exist resolves to the `.ts` beside it, and a `.ts` module is
// compiled by the oxc transform that vite (the test runner's) installs. Types are only stripped: tsc
// checks them.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'rolldown/utils';

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !specifier.endsWith('.js') || !context.parentURL?.endsWith('.ts'))
      throw e;
    return next(`${specifier.slice(0, -3)}.ts`, context);
  }
}

export async function load(url, context, next) {
  if (!url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const out = transformSync(file, await readFile(file, 'utf8'), { lang: 'ts', sourcemap: true });
  if (out.errors.length > 0) throw new Error(`${file}: ${out.errors[0].message}`);
  const map = Buffer.from(JSON.stringify(out.map)).toString('base64');
  return {
    format: 'module',
    source: `${out.code}\n//# sourceMappingURL=data:application/json;base64,${map}`,
    shortCircuit: true,
  };
}
