// Conditions as SMT formulas (z3), for static proofs. Every IR node becomes a value and an error flag,
// mirroring the engine exactly: left-to-right short-circuit, fail-closed errors, defaults. Sorts:
// strings are integers (only equality and membership are ever asked of them, so distinct literals as
// distinct integers is exact), numbers reals, times integer milliseconds, addresses 128-bit vectors with
// a family flag, lists bounded sequences with a symbolic length (the bound is chosen per query so that
// every membership test can have its own witness, which makes a proof with bounded lists a proof).
import type { Arith, Bool, BitVec, Context, Expr } from 'z3-solver';
import { ID_ATTRIBUTE, nodesOf, type AttributeDef, type EntityTypeDef, type IR } from '../lang/ir.js';
import type { Bucket } from '../types.js';
import type { Root } from '../lang/ast.js';
import type { ScalarType, ValueType } from '../lang/types.js';
import type { Cidr } from '../lang/values.js';

type Z3 = Context<'main'>;

/** A symbolic value of one scalar type. */
export type Sym =
  | { t: 'string'; v: Arith<'main'> }
  | { t: 'number'; v: Arith<'main'> }
  | { t: 'bool'; v: Bool<'main'> }
  | { t: 'time'; v: Arith<'main'> }
  | { t: 'ip'; v6: Bool<'main'>; addr: BitVec<128, 'main'> }
  | { t: 'cidr'; v6: Bool<'main'>; net: BitVec<128, 'main'>; prefix: Arith<'main'> };

export type SymValue = Sym | { t: 'list'; len: Arith<'main'>; items: Sym[] };

export interface SymAttribute {
  root: Root;
  name: string;
  def: AttributeDef;
  present: Bool<'main'>;
  value: SymValue;
}

/** Distinct string literals as distinct integers; other strings decode as `~<n>`. */
export class StringTable {
  private readonly codes = new Map<string, number>();
  private readonly names = new Map<number, string>();
  code(s: string): number {
    let c = this.codes.get(s);
    if (c === undefined) {
      c = -1 - this.codes.size; // literals are negative, so they never collide with "~n" decodings
      this.codes.set(s, c);
      this.names.set(c, s);
    }
    return c;
  }
  decode(n: number): string {
    return this.names.get(n) ?? `~${n}`;
  }
}

export class Encoder {
  readonly attributes = new Map<string, SymAttribute>();
  readonly constraints: Bool<'main'>[] = [];
  private fresh = 0;

  constructor(
    readonly z3: Z3,
    readonly strings: StringTable,
    readonly types: { principal: EntityTypeDef; resource: EntityTypeDef; context: Map<string, AttributeDef> },
    readonly listBound: number,
  ) {}

  private scalar(base: ScalarType, name: string): Sym {
    const { z3 } = this;
    const n = `${name}#${this.fresh++}`;
    switch (base) {
      case 'string':
        return { t: 'string', v: z3.Int.const(n) };
      case 'number':
        return { t: 'number', v: z3.Real.const(n) };
      case 'bool':
        return { t: 'bool', v: z3.Bool.const(n) };
      case 'time': {
        const v = z3.Int.const(n);
        this.constraints.push(v.ge(0), v.le(253_402_300_799_999));
        return { t: 'time', v };
      }
      case 'ip': {
        const v6 = z3.Bool.const(`${n}.v6`);
        const addr = z3.BitVec.const(`${n}.addr`, 128);
        this.constraints.push(z3.Implies(z3.Not(v6), addr.ult(z3.BitVec.val(1n << 32n, 128))));
        return { t: 'ip', v6, addr };
      }
      case 'cidr': {
        const v6 = z3.Bool.const(`${n}.v6`);
        const net = z3.BitVec.const(`${n}.net`, 128);
        const prefix = z3.Int.const(`${n}.prefix`);
        const width = z3.If(v6, z3.Int.val(128), z3.Int.val(32));
        this.constraints.push(
          prefix.ge(0),
          prefix.le(width),
          z3.Implies(z3.Not(v6), net.ult(z3.BitVec.val(1n << 32n, 128))),
        );
        // No host bits: the network address is its own masked form.
        this.constraints.push(net.and(this.mask(v6, prefix)).eq(net));
        return { t: 'cidr', v6, net, prefix };
      }
    }
  }

  private value(type: ValueType, name: string): SymValue {
    if (!type.list) return this.scalar(type.base as ScalarType, name);
    const len = this.z3.Int.const(`${name}.len#${this.fresh++}`);
    this.constraints.push(len.ge(0), len.le(this.listBound));
    return {
      t: 'list',
      len,
      items: Array.from({ length: this.listBound }, (_, i) => this.scalar(type.base as ScalarType, `${name}[${i}]`)),
    };
  }

  attribute(root: Root, name: string, def: AttributeDef): SymAttribute {
    const key = `${root}.${name}`;
    let a = this.attributes.get(key);
    if (!a) {
      // `id` is always there (the request shape requires it); other attributes may be absent.
      const present =
        root !== 'context' && name === 'id' ? this.z3.Bool.val(true) : this.z3.Bool.const(`${key}.present`);
      a = { root, name, def, present, value: this.value(def.type, key) };
      this.attributes.set(key, a);
    }
    return a;
  }

  /** Declares every attribute of the scope, so the model describes a complete request. */
  declareAll(): void {
    this.attribute('principal', 'id', ID_ATTRIBUTE);
    this.attribute('resource', 'id', ID_ATTRIBUTE);
    for (const [name, def] of this.types.principal.attributes) this.attribute('principal', name, def);
    for (const [name, def] of this.types.resource.attributes) this.attribute('resource', name, def);
    for (const [name, def] of this.types.context) this.attribute('context', name, def);
  }

  mask(v6: Bool<'main'>, prefix: Arith<'main'>): BitVec<128, 'main'> {
    const { z3 } = this;
    const width = z3.If(v6, z3.Int.val(128), z3.Int.val(32));
    const hostBits = z3.Int2BV(width.sub(prefix), 128);
    const all = z3.If(v6, z3.BitVec.val((1n << 128n) - 1n, 128), z3.BitVec.val((1n << 32n) - 1n, 128));
    return all.and(z3.BitVec.val((1n << 128n) - 1n, 128).shl(hostBits)) as BitVec<128, 'main'>;
  }

  constant(type: ValueType, value: unknown): SymValue {
    const { z3 } = this;
    if (type.list) {
      const items = (value as unknown[]).map((v) => this.constant({ base: type.base, list: false }, v) as Sym);
      return { t: 'list', len: z3.Int.val(items.length), items };
    }
    switch (type.base) {
      case 'string':
        return { t: 'string', v: z3.Int.val(this.strings.code(value as string)) };
      case 'number':
        return { t: 'number', v: z3.Real.val(String(value)) };
      case 'bool':
        return { t: 'bool', v: z3.Bool.val(value as boolean) };
      case 'time':
        return { t: 'time', v: z3.Int.val(value as number) };
      case 'ip': {
        const ip = value as { kind(): string; toByteArray(): number[] };
        return {
          t: 'ip',
          v6: z3.Bool.val(ip.kind() === 'ipv6'),
          addr: z3.BitVec.val(bytesToBigInt(ip.toByteArray()), 128),
        };
      }
      case 'cidr': {
        const [net, prefix] = value as Cidr;
        return {
          t: 'cidr',
          v6: z3.Bool.val(net.kind() === 'ipv6'),
          net: z3.BitVec.val(bytesToBigInt(net.toByteArray()), 128),
          prefix: z3.Int.val(prefix),
        };
      }
      case 'any':
        return { t: 'list', len: z3.Int.val(0), items: [] };
    }
  }

  equal(a: SymValue, b: SymValue): Bool<'main'> {
    const { z3 } = this;
    if (a.t === 'list' || b.t === 'list') {
      if (a.t !== 'list' || b.t !== 'list') throw new Error('list compared with a scalar');
      const n = Math.max(a.items.length, b.items.length);
      const parts: Bool<'main'>[] = [a.len.eq(b.len)];
      for (let k = 0; k < n; k++) {
        const x = a.items[k];
        const y = b.items[k];
        const within = a.len.gt(k);
        parts.push(x && y ? z3.Implies(within, this.equal(x, y)) : z3.Not(within));
      }
      return z3.And(...parts);
    }
    switch (a.t) {
      case 'ip':
        return z3.And(a.v6.eq((b as typeof a).v6), a.addr.eq((b as typeof a).addr));
      case 'cidr': {
        const c = b as typeof a;
        return z3.And(a.v6.eq(c.v6), a.net.eq(c.net), a.prefix.eq(c.prefix));
      }
      case 'bool':
        return a.v.eq((b as typeof a).v);
      default:
        return (a.v as Arith<'main'>).eq((b as { v: Arith<'main'> }).v);
    }
  }

  inCidr(ip: SymValue, cidr: SymValue): Bool<'main'> {
    if (ip.t !== 'ip' || cidr.t !== 'cidr') throw new Error('address test on the wrong types');
    return this.z3.And(ip.v6.eq(cidr.v6), ip.addr.and(this.mask(cidr.v6, cidr.prefix)).eq(cidr.net));
  }

  /** The value and the error flag of an IR node, as the engine evaluates it. */
  encode(ir: IR): { val: Expr<'main'> | SymValue; err: Bool<'main'> } {
    const { z3 } = this;
    const F = z3.Bool.val(false);
    switch (ir.k) {
      case 'const':
        return { val: this.constant(ir.type, ir.value), err: F };
      case 'attr': {
        const a = this.attribute(ir.root, ir.name, ir.def);
        const isTimeDefault = ir.root === 'context' && ir.name === 'time';
        if (ir.def.default !== undefined) {
          const d = this.constant(ir.def.type, ir.def.default);
          return { val: this.ite(a.present, a.value, d), err: F };
        }
        // context.time defaults to the clock: any time at all, which is what the free value already is.
        return { val: a.value, err: isTimeDefault ? F : z3.Not(a.present) };
      }
      case 'has':
        return { val: { t: 'bool', v: this.attribute(ir.root, ir.name, ir.def).present }, err: F };
      case 'not': {
        const o = this.encode(ir.operand);
        return { val: { t: 'bool', v: z3.Not(this.bool(o.val)) }, err: o.err };
      }
      case 'and':
      case 'or': {
        const l = this.encode(ir.left);
        const r = this.encode(ir.right);
        const lv = this.bool(l.val);
        const rv = this.bool(r.val);
        const reachesRight = ir.k === 'and' ? lv : z3.Not(lv);
        return {
          val: { t: 'bool', v: ir.k === 'and' ? z3.And(lv, rv) : z3.Or(lv, rv) },
          err: z3.Or(l.err, z3.And(reachesRight, r.err)),
        };
      }
      case 'compare': {
        const l = this.encode(ir.left);
        const r = this.encode(ir.right);
        const a = l.val as SymValue;
        const b = r.val as SymValue;
        const err = z3.Or(l.err, r.err);
        if (ir.op === '==' || ir.op === '!=') {
          const eq = this.equal(a, b);
          return { val: { t: 'bool', v: ir.op === '==' ? eq : z3.Not(eq) }, err };
        }
        const x = (a as { v: Arith<'main'> }).v;
        const y = (b as { v: Arith<'main'> }).v;
        const v = ir.op === '<' ? x.lt(y) : ir.op === '<=' ? x.le(y) : ir.op === '>' ? x.gt(y) : x.ge(y);
        return { val: { t: 'bool', v }, err };
      }
      case 'in': {
        const l = this.encode(ir.left);
        const r = this.encode(ir.right);
        const x = l.val as SymValue;
        const list = r.val as SymValue;
        const err = z3.Or(l.err, r.err);
        if (ir.mode === 'ip-in-cidr') return { val: { t: 'bool', v: this.inCidr(x, list) }, err };
        if (list.t !== 'list') throw new Error('membership in a non-list');
        const test = (item: Sym) => (ir.mode === 'ip-in-cidrs' ? this.inCidr(x, item) : this.equal(x, item));
        const v =
          list.items.length === 0
            ? z3.Bool.val(false)
            : z3.Or(...list.items.map((item, k) => z3.And(list.len.gt(k), test(item))));
        return { val: { t: 'bool', v }, err };
      }
    }
  }

  bool(v: Expr<'main'> | SymValue): Bool<'main'> {
    return (v as { t: 'bool'; v: Bool<'main'> }).v;
  }

  private ite(c: Bool<'main'>, a: SymValue, b: SymValue): SymValue {
    const { z3 } = this;
    if (a.t === 'list' && b.t === 'list') {
      const n = Math.max(a.items.length, b.items.length);
      const items: Sym[] = [];
      for (let k = 0; k < n; k++)
        items.push(
          (a.items[k] ? (b.items[k] ? this.ite(c, a.items[k]!, b.items[k]!) : a.items[k]) : b.items[k]) as Sym,
        );
      return { t: 'list', len: z3.If(c, a.len, b.len) as Arith<'main'>, items };
    }
    switch (a.t) {
      case 'ip': {
        const y = b as typeof a;
        return {
          t: 'ip',
          v6: z3.If(c, a.v6, y.v6) as Bool<'main'>,
          addr: z3.If(c, a.addr, y.addr) as BitVec<128, 'main'>,
        };
      }
      case 'cidr': {
        const y = b as typeof a;
        return {
          t: 'cidr',
          v6: z3.If(c, a.v6, y.v6) as Bool<'main'>,
          net: z3.If(c, a.net, y.net) as BitVec<128, 'main'>,
          prefix: z3.If(c, a.prefix, y.prefix) as Arith<'main'>,
        };
      }
      case 'bool':
        return { t: 'bool', v: z3.If(c, a.v, (b as typeof a).v) as Bool<'main'> };
      default:
        return {
          t: a.t,
          v: z3.If(c, (a as { v: Arith<'main'> }).v, (b as { v: Arith<'main'> }).v) as Arith<'main'>,
        } as Sym;
    }
  }
}

function bytesToBigInt(bytes: number[]): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

/** How many list elements a proof needs: one witness per membership test, plus the longest list literal. */
export function listBoundFor(irs: IR[]): number {
  let memberships = 0;
  let longest = 0;
  for (const ir of irs) {
    for (const node of nodesOf(ir)) {
      if (node.k === 'in') memberships++;
      if (node.k === 'const' && Array.isArray(node.value)) longest = Math.max(longest, node.value.length);
    }
  }
  return Math.max(1, memberships + longest);
}

/**
 * "The engine allows": no deny rule matches or errs, no allow rule errs, some allow rule matches (the
 * fast path's order: deny rules first, then every allow rule).
 */
export function encodeAllowed(enc: Encoder, bucket: Bucket | undefined): Bool<'main'> {
  const { z3 } = enc;
  if (!bucket || bucket.allow.length === 0) return z3.Bool.val(false);
  const denies = bucket.deny.map((x) => enc.encode(x.ir));
  const allows = bucket.allow.map((x) => enc.encode(x.ir));
  return z3.And(
    ...denies.map((d) => z3.And(z3.Not(d.err), z3.Not(enc.bool(d.val)))),
    ...allows.map((x) => z3.Not(x.err)),
    z3.Or(...allows.map((x) => enc.bool(x.val))),
  );
}
