// How a condition reads an attribute of the request: the one definition that the generated code, the
// rule-by-rule path and partial evaluation share, so an absent attribute, a default and a conversion error
// mean the same everywhere.
import type { AuthorizeRequest } from '../schema/request.js';
import type { Root } from './ast.js';
import { convertCached } from './convert-cached.js';
import type { AttributeDef } from './ir.js';
import { missingAttribute } from './values.js';

export type Evaluator = (req: AuthorizeRequest, now: number) => unknown;

/** Reads an attribute as the caller sent it (undefined when absent). `context.time` defaults to `now`. */
export function rawAccessor(root: Root, name: string): Evaluator {
  // Names that exist on Object.prototype must be own properties, or `constructor` would read a function.
  const own = name in Object.prototype;
  const read = (bag: Record<string, unknown> | undefined) =>
    bag === undefined || bag === null || (own && !Object.hasOwn(bag, name)) ? undefined : bag[name];
  if (root === 'principal') return name === 'id' ? (r) => r.principal.id : (r) => read(r.principal.attributes);
  if (root === 'resource') return name === 'id' ? (r) => r.resource.id : (r) => read(r.resource.attributes);
  if (name === 'time')
    return (r, now) => {
      const t = read(r.context);
      return t === undefined ? now : t;
    };
  return (r) => read(r.context);
}

/** Reads and converts an attribute; absent means its default, or an error (fail closed). */
export function accessor(root: Root, name: string, def: AttributeDef): Evaluator {
  const raw = rawAccessor(root, name);
  const where = `${root}.${name}`;
  return (r, now) => {
    const v = raw(r, now);
    if (v !== undefined) return convertCached(def.type, v, where);
    if (def.default !== undefined) return def.default;
    throw missingAttribute(root, name);
  };
}
