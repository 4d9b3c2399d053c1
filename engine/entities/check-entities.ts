// Entities for the store, checked against the schema and normalized: every way in (a pack's entities.yaml,
// `fleetguard entities import`, the admin API) goes through here, so what the store holds is what the
// engine would accept, in one form. That form is what query plans read in SQL: times as epoch
// milliseconds (SQLite would read other numbers as Julian days and compare text as text), booleans as
// JSON booleans (never 0/1, which SQL would match and the engine would not), addresses and ranges in
// their canonical text. An attribute the schema gives a default is left absent: the engine and the plans
// both apply the default at the time they read it.
import { didYouMean } from '../diagnostics.js';
import type { AttributeDef, EntityTypeDef } from '../lang/ir.js';
import { typeName, type ScalarType, type ValueType } from '../lang/types.js';
import { convertScalar, type Cidr } from '../lang/values.js';
import type { PathSegment } from '../load/yaml-source.js';
import type { StoredEntity } from '../schema/entities-file.js';
import type { Schema } from '../types.js';

declare const checked: unique symbol;
/** An entity that passed `checkEntities`, with its attributes in stored form: the only kind the store takes. */
export type CheckedEntity = StoredEntity & { readonly [checked]: true };

export interface EntityProblem {
  /** From the list of entities: `[index, 'attributes', name, item?]`, or `[index, 'type']`. */
  path: PathSegment[];
  message: string;
  hint?: string;
}

/** Checks entities against the schema; all of them are returned (in stored form) only when none has a problem. */
export function checkEntities(
  schema: Schema,
  entities: readonly StoredEntity[],
): { entities?: CheckedEntity[]; problems: EntityProblem[] } {
  const problems: EntityProblem[] = [];
  const out = entities.map((e, i) => checkEntity(schema, e, (p) => problems.push({ ...p, path: [i, ...p.path] })));
  return problems.length === 0 ? { entities: out as CheckedEntity[], problems } : { problems };
}

function checkEntity(schema: Schema, entity: StoredEntity, report: (p: EntityProblem) => void): StoredEntity {
  // A type may be both a principal and a resource: the entity serves as either, so it satisfies both.
  const defs = [schema.principals.get(entity.type), schema.resources.get(entity.type)].filter(
    (d): d is EntityTypeDef => d !== undefined,
  );
  if (defs.length === 0) {
    const hint = didYouMean(entity.type, [...schema.principals.keys(), ...schema.resources.keys()]);
    report({
      path: ['type'],
      message: `unknown entity type \`${entity.type}\`: the schema declares no principal or resource of that type`,
      ...(hint ? { hint } : {}),
    });
    return entity;
  }
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(entity.attributes)) {
    const path = ['attributes', name];
    const declared = defs.flatMap((d) => {
      const def = d.attributes.get(name);
      return def ? [def] : [];
    });
    if (declared.length === 0) {
      const hint =
        name === 'id'
          ? 'the id is the entity’s `id` field, not an attribute'
          : didYouMean(name, new Set(defs.flatMap((d) => [...d.attributes.keys()])));
      report({ path, message: `\`${entity.type}\` has no attribute \`${name}\``, ...(hint ? { hint } : {}) });
      continue;
    }
    const type = declared[0]!.type;
    if (declared.some((d) => typeName(d.type) !== typeName(type))) {
      report({
        path,
        message: `\`${entity.type}.${name}\` is declared with different types for the principal and the resource (${declared.map((d) => typeName(d.type)).join(', ')}); no value satisfies both`,
      });
      continue;
    }
    const stored = storedValue(type, value, (item, expected) =>
      report({
        path: item === undefined ? path : [...path, item],
        message: `${item === undefined ? '' : 'an item of '}\`${entity.type}.${name}\` should be ${expected}, got ${kindOf(item === undefined ? value : (value as unknown[])[item])}`,
      }),
    );
    if (stored !== undefined) attributes[name] = stored;
  }
  // Required attributes: the resource's when the type is one (query plans read stored resources in SQL,
  // where an absent value would not fail closed as the engine does); a principal's otherwise. A type that
  // is both may be stored for either role (a provisioning key as a managed object, without the
  // principal's expiry): as a principal, a missing attribute fails closed when a rule reads it.
  const roleDef = schema.resources.get(entity.type) ?? defs[0]!;
  for (const [name, def] of roleDef.attributes) {
    if (required(def) && !(name in entity.attributes))
      report({
        path: ['attributes'],
        message: `\`${entity.type}\` needs the attribute \`${name}\` (${typeName(def.type)})`,
      });
  }
  return { type: entity.type, id: entity.id, attributes };
}

const required = (def: AttributeDef) => !def.optional && def.default === undefined;

const EXPECTED: Record<ScalarType, string> = {
  string: 'a string',
  number: 'a finite number',
  bool: 'true or false',
  time: 'a time (RFC 3339 text or epoch milliseconds)',
  ip: 'an IP address',
  cidr: 'an address range (CIDR)',
};

function kindOf(value: unknown): string {
  return Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value;
}

/**
 * A JSON value of `type` in the store's form, or undefined after reporting why it is not one (`item` is
 * the index of the bad item of a list). Also used for defaults, which are already converted values.
 */
export function storedValue(
  type: ValueType,
  value: unknown,
  wrong: (item: number | undefined, expected: string) => void = () => {},
): unknown {
  if (type.base === 'any') return value;
  const base = type.base;
  if (!type.list) {
    const v = storedScalar(base, value);
    if (v === undefined) wrong(undefined, EXPECTED[base]);
    return v;
  }
  if (!Array.isArray(value)) {
    wrong(undefined, `a list of ${base}`);
    return undefined;
  }
  let ok = true;
  const items = value.map((item, i) => {
    const v = storedScalar(base, item);
    if (v === undefined) {
      ok = false;
      wrong(i, EXPECTED[base]);
    }
    return v;
  });
  return ok ? items : undefined;
}

function storedScalar(base: ScalarType, value: unknown): unknown {
  // Already converted (a default): addresses and ranges are objects, times numbers.
  // IPv4 dotted, IPv6 in the RFC 5952 short form (toString), IPv4-mapped IPv6 as IPv4 (parseIp).
  if (base === 'ip')
    return (isAddress(value) ? value : (convertScalar(base, value) as Cidr[0] | undefined))?.toString();
  if (base === 'cidr') {
    const range =
      Array.isArray(value) && isAddress(value[0]) ? value : (convertScalar(base, value) as Cidr | undefined);
    return range && `${range[0].toString()}/${range[1]}`;
  }
  return convertScalar(base, value);
}

function isAddress(value: unknown): value is Cidr[0] {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'function';
}
