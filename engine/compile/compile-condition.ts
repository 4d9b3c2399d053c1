// IR → one JavaScript function per condition, generated once at compile time (as ajv does for JSON
// Schema). Deciding runs straight-line code: no AST is walked per request and nothing is allocated on the
// common paths. Only checked IR reaches this file: attribute names are schema identifiers and literals are
// emitted with JSON.stringify, so the generated source cannot be steered by policy text.
// Slow paths (absent attributes, defaults, times, addresses, type errors) call the shared accessors and
// operators, so the semantics live in one place (lang/accessors.ts, lang/values.ts).
import type { AuthorizeRequest } from '../schema/request.js';
import type { AttributeDef, IR } from '../lang/ir.js';
import type { Root } from '../lang/ast.js';
import { accessor, rawAccessor, type Evaluator } from '../lang/accessors.js';
import { compareValues, convertValue, isMember } from '../lang/values.js';

export type CompiledCondition = (req: AuthorizeRequest, now: number) => boolean;

const PRIMITIVE = new Set(['string', 'number', 'bool']);
const TYPEOF: Record<string, string> = { string: 'string', number: 'number', bool: 'boolean' };

/** Where generated code reads each root's attributes: expressions over `req`, or names bound to them. */
export type Bags = Record<Root, string>;
const REQUEST_BAGS: Bags = {
  principal: 'req.principal.attributes',
  resource: 'req.resource.attributes',
  context: 'req.context',
};

/**
 * Writes conditions as JavaScript expressions over `req` and `now`, with values that cannot be literals
 * (functions, types, parsed ranges) in the slots array `s`. Several conditions may share one generator:
 * the generated decision function of a policy set inlines all of its rules' conditions, and reads the
 * attribute bags from local names bound once (`bags`).
 */
export class CodeGen {
  constructor(private readonly bags: Bags = REQUEST_BAGS) {}

  readonly slots: unknown[] = [];
  private temps = 0;
  private maxTemps = 0;

  private readonly slotOf = new Map<unknown, string>();
  private readonly accessors = new Map<AttributeDef | undefined, Map<string, string>>();

  /** A slot per distinct value: a policy set's function reads the same functions and types many times. */
  slot(value: unknown): string {
    let slot = this.slotOf.get(value);
    if (slot === undefined) {
      this.slots.push(value);
      this.slotOf.set(value, (slot = `s[${this.slots.length - 1}]`));
    }
    return slot;
  }

  /** The slot of `accessor(root, name, def)` (or of `rawAccessor` without a def), made once. */
  private accessorSlot(root: Root, name: string, def?: AttributeDef): string {
    let byName = this.accessors.get(def);
    if (byName === undefined) this.accessors.set(def, (byName = new Map()));
    const key = `${root}.${name}`;
    let slot = byName.get(key);
    if (slot === undefined)
      byName.set(key, (slot = this.slot(def === undefined ? rawAccessor(root, name) : accessor(root, name, def))));
    return slot;
  }

  temp(): string {
    const t = `t${this.temps++}`;
    this.maxTemps = Math.max(this.maxTemps, this.temps);
    return t;
  }

  /** Temporaries hold a value only within one expression: the next condition may reuse them. */
  reuseTemps(): void {
    this.temps = 0;
  }

  /** How many temporaries the code generated since the last call uses; the next code starts afresh. */
  takeTemps(): number {
    const count = this.maxTemps;
    this.temps = this.maxTemps = 0;
    return count;
  }

  /** Property read of the raw value, inline when the name is safe to read from a plain object. */
  raw(root: Root, name: string): string {
    if (root !== 'context' && name === 'id') return `req.${root}.id`;
    if (name in Object.prototype || (root === 'context' && name === 'time'))
      return `${this.accessorSlot(root, name)}(req, now)`;
    return `${this.bags[root]}?.[${JSON.stringify(name)}]`;
  }

  expr(ir: IR): string {
    switch (ir.k) {
      case 'const':
        return ir.value === null || ['string', 'number', 'boolean'].includes(typeof ir.value)
          ? JSON.stringify(ir.value)
          : this.slot(ir.value);
      case 'attr': {
        const slow = `${this.accessorSlot(ir.root, ir.name, ir.def)}(req, now)`;
        if (ir.def.type.list || !PRIMITIVE.has(ir.def.type.base)) return slow;
        const t = this.temp();
        return `(typeof (${t} = ${this.raw(ir.root, ir.name)}) === ${JSON.stringify(TYPEOF[ir.def.type.base])} ? ${t} : ${slow})`;
      }
      case 'has':
        return `(${this.raw(ir.root, ir.name)} !== undefined)`;
      case 'not':
        return `!${this.expr(ir.operand)}`;
      case 'and':
        return `(${this.expr(ir.left)} && ${this.expr(ir.right)})`;
      case 'or':
        return `(${this.expr(ir.left)} || ${this.expr(ir.right)})`;
      case 'compare': {
        const l = this.expr(ir.left);
        const r = this.expr(ir.right);
        const primitive = !ir.type.list && (PRIMITIVE.has(ir.type.base) || ir.type.base === 'time');
        if (!primitive)
          return `${this.slot(compareValues)}(${JSON.stringify(ir.op)}, ${this.slot(ir.type)}, ${l}, ${r})`;
        const op = ir.op === '==' ? '===' : ir.op === '!=' ? '!==' : ir.op;
        return `(${l} ${op} ${r})`;
      }
      case 'in': {
        const l = this.expr(ir.left);
        if (ir.mode === 'member' && ir.base === 'string' && ir.right.k === 'attr') {
          // The common role check (`resource.fleet in principal.developerOf`): one pass that checks the
          // items' type and looks for the value.
          const r = ir.right;
          return `${this.slot(memberOfStrings)}(${l}, ${this.raw(r.root, r.name)}, ${this.accessorSlot(r.root, r.name, r.def)}, req, now)`;
        }
        const r = this.expr(ir.right);
        if (ir.mode === 'member' && PRIMITIVE.has(ir.base)) return `${r}.includes(${l})`;
        return `${this.slot(isMember)}(${JSON.stringify(ir.mode)}, ${JSON.stringify(ir.base)}, ${l}, ${r})`;
      }
    }
  }
}

/** `let t0, t1;` for the temporaries a generated function uses. */
export function declareTemps(count: number): string {
  return count === 0 ? '' : `let ${Array.from({ length: count }, (_, i) => `t${i}`).join(', ')};`;
}

function memberOfStrings(value: unknown, list: unknown, slow: Evaluator, req: AuthorizeRequest, now: number): boolean {
  const items = Array.isArray(list) ? list : (slow(req, now) as unknown[]);
  let found = false;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'string') {
      convertValue({ base: 'string', list: true }, items, 'a list');
      return false;
    }
    if (item === value) found = true;
  }
  return found;
}

// The same checked condition compiles to the same function (rules share conditions, and a one-part `when`
// is its own conjunction).
const compiled = new WeakMap<IR, CompiledCondition>();

export function compileCondition(ir: IR): CompiledCondition {
  let fn = compiled.get(ir);
  if (!fn) compiled.set(ir, (fn = generate(ir)));
  return fn;
}

function generate(ir: IR): CompiledCondition {
  if (ir.k === 'const') {
    const value = ir.value === true;
    return () => value;
  }
  const gen = new CodeGen();
  const body = gen.expr(ir);
  const source = `return function condition(req, now) { ${declareTemps(gen.takeTemps())} return ${body}; };`;
  return new Function('s', source)(gen.slots) as CompiledCondition;
}
