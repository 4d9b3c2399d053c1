// Run-time values and the operators over them: one place for the semantics shared by the compiled fast
// path, the partial evaluator (CASL, plans) and the test tools. Times are epoch milliseconds.
import ipaddr from 'ipaddr.js';
import type { CompareOp, Root } from './ast.js';
import type { ScalarType, ValueType } from './types.js';

export type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** A failure while deciding: it makes the decision deny and is reported in `errors`. */
export class EvaluationError extends Error {
  constructor(
    readonly code: 'missing-attribute' | 'type-error',
    message: string,
  ) {
    super(message);
    this.name = 'EvaluationError';
  }
}

export function missingAttribute(root: Root, name: string): EvaluationError {
  return new EvaluationError('missing-attribute', `${root}.${name} is missing`);
}

function wrongType(where: string, expected: string, value: unknown): EvaluationError {
  const got = Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value;
  return new EvaluationError('type-error', `${where} should be ${expected}, got ${got}`);
}

/** RFC 3339 date-time (a date alone is accepted as midnight UTC); anything else is a type error. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$/;

export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string' || !RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export function parseIp(value: unknown): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (typeof value !== 'string' || !ipaddr.isValid(value)) return undefined;
  const addr = ipaddr.parse(value);
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1, as Node reports IPv4 clients on dual-stack sockets) is IPv4.
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}

export function parseCidr(value: unknown): Cidr | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return ipaddr.parseCIDR(value);
  } catch {
    return undefined;
  }
}

/** Converts a JSON value to the run-time value of `base`, or undefined when it has the wrong type. */
export function convertScalar(base: ScalarType, value: unknown): unknown {
  switch (base) {
    case 'string':
      return typeof value === 'string' ? value : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'time':
      return parseTime(value);
    case 'ip':
      return parseIp(value);
    case 'cidr':
      return parseCidr(value);
  }
}

export function convertValue(type: ValueType, value: unknown, where: string): unknown {
  if (type.base === 'any') return value;
  if (!type.list) {
    const v = convertScalar(type.base, value);
    if (v === undefined) throw wrongType(where, type.base === 'time' ? 'an RFC 3339 time' : `a ${type.base}`, value);
    return v;
  }
  if (!Array.isArray(value)) throw wrongType(where, `a list of ${type.base}`, value);
  // Strings need no conversion: check in place and hand back the caller's array (no allocation).
  if (type.base === 'string') {
    for (const item of value) if (typeof item !== 'string') throw wrongType(`an item of ${where}`, 'a string', item);
    return value;
  }
  return value.map((item) => {
    const v = convertScalar(type.base as ScalarType, item);
    if (v === undefined) throw wrongType(`an item of ${where}`, `a ${type.base}`, item);
    return v;
  });
}

export function equalValues(base: ScalarType | 'any', list: boolean, a: unknown, b: unknown): boolean {
  if (list) {
    const xs = a as unknown[];
    const ys = b as unknown[];
    return xs.length === ys.length && xs.every((x, i) => equalValues(base, false, x, ys[i]));
  }
  if (base === 'ip') return (a as ipaddr.IPv4).toNormalizedString() === (b as ipaddr.IPv4).toNormalizedString();
  if (base === 'cidr') {
    const [x, xp] = a as Cidr;
    const [y, yp] = b as Cidr;
    return xp === yp && x.toNormalizedString() === y.toNormalizedString();
  }
  return a === b;
}

export function compareValues(op: CompareOp, type: ValueType, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return equalValues(type.base, type.list, a, b);
    case '!=':
      return !equalValues(type.base, type.list, a, b);
    case '<':
      return (a as number) < (b as number);
    case '<=':
      return (a as number) <= (b as number);
    case '>':
      return (a as number) > (b as number);
    case '>=':
      return (a as number) >= (b as number);
  }
}

export function ipInCidr(ip: ipaddr.IPv4 | ipaddr.IPv6, [range, bits]: Cidr): boolean {
  return ip.kind() === range.kind() && ip.match(range, bits);
}

/** `left in right`: list membership, or an address inside a CIDR (or any of a list of CIDRs). */
export type MembershipMode = 'member' | 'ip-in-cidr' | 'ip-in-cidrs';

export function isMember(mode: MembershipMode, base: ScalarType | 'any', left: unknown, right: unknown): boolean {
  switch (mode) {
    case 'ip-in-cidr':
      return ipInCidr(left as ipaddr.IPv4, right as Cidr);
    case 'ip-in-cidrs':
      return (right as Cidr[]).some((c) => ipInCidr(left as ipaddr.IPv4, c));
    case 'member':
      if (base === 'string' || base === 'number' || base === 'bool' || base === 'time' || base === 'any') {
        return (right as unknown[]).includes(left);
      }
      return (right as unknown[]).some((item) => equalValues(base, false, left, item));
  }
}
