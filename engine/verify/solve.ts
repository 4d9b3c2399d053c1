// Asking z3 for a request: one encoder over a principal type and a resource type, one formula, one
// answer (unsat, a decoded request, or why the solver gave up). Shared by verify and diff.
import ipaddr from 'ipaddr.js';
import { init, type Bool, type Context, type Model } from 'z3-solver';
import type { AuthorizeRequest, Schema } from '../types.js';
import type { IR } from '../lang/ir.js';
import { Encoder, listBoundFor, StringTable, type Sym, type SymValue } from './smt-encode.js';

export type Z3 = Context<'main'>;
let z3Promise: Promise<Z3> | undefined;
export function solverContext(): Promise<Z3> {
  return (z3Promise ??= init().then(({ Context }) => Context('main')));
}

export type Outcome =
  | { kind: 'unsat' }
  | { kind: 'sat'; request: Omit<AuthorizeRequest, 'action'> }
  | { kind: 'unknown'; why: string };

/** Solves `build(enc)` over every attribute of principal type `p`, resource type `r` and the context. */
export async function findRequest(
  z3: Z3,
  schema: Schema,
  p: string,
  r: string,
  irs: IR[],
  build: (enc: Encoder) => Bool<'main'>,
): Promise<Outcome> {
  const enc = new Encoder(
    z3,
    new StringTable(),
    { principal: schema.principals.get(p)!, resource: schema.resources.get(r)!, context: schema.context },
    listBoundFor(irs),
  );
  enc.declareAll();
  const formula = build(enc);
  const solver = new z3.Solver();
  solver.set('timeout', 10_000);
  solver.add(...enc.constraints, formula);
  const answer = await solver.check();
  if (answer === 'unsat') return { kind: 'unsat' };
  if (answer === 'unknown') return { kind: 'unknown', why: `the solver gave up (${solver.reasonUnknown()})` };
  return { kind: 'sat', request: decodeRequest(enc, solver.model(), p, r) };
}

function decodeRequest(enc: Encoder, model: Model<'main'>, p: string, r: string): Omit<AuthorizeRequest, 'action'> {
  const principal: Record<string, unknown> = {};
  const resource: Record<string, unknown> = {};
  const context: Record<string, unknown> = {};
  let principalId = '';
  let resourceId = '';
  for (const a of enc.attributes.values()) {
    const present = model.eval(a.present, true).toString() === 'true';
    if (!present) continue;
    const value = decodeValue(enc, model, a.value);
    if (a.name === 'id' && a.root !== 'context') {
      if (a.root === 'principal') principalId = value as string;
      else resourceId = value as string;
      continue;
    }
    (a.root === 'principal' ? principal : a.root === 'resource' ? resource : context)[a.name] = value;
  }
  return {
    principal: { type: p, id: principalId || '~p', attributes: principal },
    resource: { type: r, id: resourceId || '~r', attributes: resource },
    context,
  };
}

function decodeValue(enc: Encoder, model: Model<'main'>, v: SymValue): unknown {
  if (v.t === 'list') {
    const len = Number(model.eval(v.len, true).toString());
    return v.items.slice(0, len).map((item) => decodeScalar(enc, model, item));
  }
  return decodeScalar(enc, model, v);
}

function decodeScalar(enc: Encoder, model: Model<'main'>, v: Sym): unknown {
  const text = (e: Parameters<Model<'main'>['eval']>[0]) => model.eval(e, true).toString();
  switch (v.t) {
    case 'string':
      return enc.strings.decode(Number(text(v.v)));
    case 'number': {
      const s = text(v.v);
      const [n, d] = s.split('/');
      return d === undefined ? Number(n) : Number(n) / Number(d);
    }
    case 'bool':
      return text(v.v) === 'true';
    case 'time':
      return new Date(Number(text(v.v))).toISOString();
    case 'ip':
      return formatAddress(text(v.v6) === 'true', BigInt(text(v.addr).replace('#x', '0x')));
    case 'cidr':
      return `${formatAddress(text(v.v6) === 'true', BigInt(text(v.net).replace('#x', '0x')))}/${text(v.prefix)}`;
  }
}

function formatAddress(v6: boolean, n: bigint): string {
  const bytes = Array.from({ length: v6 ? 16 : 4 }, (_, i) => Number((n >> BigInt(8 * ((v6 ? 15 : 3) - i))) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}
