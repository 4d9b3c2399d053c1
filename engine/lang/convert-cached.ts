// Converting the caller's strings to times, addresses and ranges is the costly part of deciding: an RFC
// 3339 time is a regular expression and Date.parse, an address or a range goes through ipaddr.js, whose
// CIDR parser tries IPv6 first and catches. The same strings come back request after request (a key's
// expiry and allowed ranges, the client addresses), so each valid conversion is remembered per string.
// Remembered values are frozen, since every decision shares them. Each table is bounded (emptied when
// full): strings that never repeat cost the conversion they always cost, never memory.
// The semantics stay in lang/values.ts: a miss converts there, and anything invalid is left for
// convertValue to convert again and word the error exactly as it does.
import type { ScalarType, ValueType } from './types.js';
import { convertScalar, convertValue } from './values.js';

type Remembered = 'time' | 'ip' | 'cidr';

/** Distinct strings kept per type before a table starts over. */
export const CONVERSION_CACHE_LIMIT = 4096;

const tables: Record<Remembered, Map<string, unknown>> = { time: new Map(), ip: new Map(), cidr: new Map() };

function remembered(base: ScalarType | 'any'): base is Remembered {
  return base === 'time' || base === 'ip' || base === 'cidr';
}

/** The converted value of `text`, or undefined when it is not a valid `base`. */
function convertString(base: Remembered, text: string): unknown {
  const table = tables[base];
  let value = table.get(text);
  if (value === undefined) {
    value = convertScalar(base, text);
    if (value === undefined) return undefined;
    if (table.size >= CONVERSION_CACHE_LIMIT) table.clear();
    table.set(text, deepFreeze(value));
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** convertValue, with times, addresses and ranges given as strings remembered. */
export function convertCached(type: ValueType, value: unknown, where: string): unknown {
  const base = type.base;
  if (remembered(base)) {
    if (!type.list) {
      if (typeof value === 'string') {
        const v = convertString(base, value);
        if (v !== undefined) return v;
      }
    } else if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const v = typeof item === 'string' ? convertString(base, item) : undefined;
        if (v === undefined) return convertValue(type, value, where);
        out.push(v);
      }
      return out;
    }
  }
  return convertValue(type, value, where);
}
