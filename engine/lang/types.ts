// The attribute type system: scalars and lists of scalars, written `string`, `list<cidr>`, `time?`.

export const SCALAR_TYPES = ['string', 'number', 'bool', 'time', 'ip', 'cidr'] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

export interface ValueType {
  /** `any` only for the empty list literal `[]`, which compares equal in type to every list. */
  base: ScalarType | 'any';
  list: boolean;
}

export const TYPE_NAME_PATTERN = /^(string|number|bool|time|ip|cidr|list<(string|number|bool|time|ip|cidr)>)\??$/;

export function parseTypeName(name: string): { type: ValueType; optional: boolean } {
  const optional = name.endsWith('?');
  const bare = optional ? name.slice(0, -1) : name;
  const list = bare.startsWith('list<');
  const base = (list ? bare.slice(5, -1) : bare) as ScalarType;
  return { type: { base, list }, optional };
}

export function typeName(t: ValueType): string {
  return t.list ? `list<${t.base}>` : t.base;
}

export const BOOL: ValueType = { base: 'bool', list: false };

export function sameType(a: ValueType, b: ValueType): boolean {
  if (a.list !== b.list) return false;
  return a.base === b.base || a.base === 'any' || b.base === 'any';
}
