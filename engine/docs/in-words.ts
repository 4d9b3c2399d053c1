// Conditions in words, for auditors who do not read code: `resource.fleet == principal.fleet` becomes
// "the resource's fleet is the principal's fleet".
import type { IR } from '../lang/ir.js';
import type { Cidr } from '../lang/values.js';

function noun(root: string, name: string): string {
  const owner = root === 'context' ? 'the request' : `the ${root}`;
  return name === 'id' ? `${owner}'s id` : `${owner}'s ${name}`;
}

function literal(ir: Extract<IR, { k: 'const' }>): string {
  const show = (v: unknown): string => {
    if (ir.type.base === 'time' && typeof v === 'number') return new Date(v).toISOString();
    if (ir.type.base === 'cidr') return `${(v as Cidr)[0].toString()}/${(v as Cidr)[1]}`;
    if (ir.type.base === 'ip') return String(v);
    return typeof v === 'string' ? `"${v}"` : String(v);
  };
  if (Array.isArray(ir.value)) return ir.value.length === 0 ? 'empty' : `one of ${ir.value.map(show).join(', ')}`;
  return show(ir.value);
}

export function inWords(ir: IR): string {
  switch (ir.k) {
    case 'const':
      return literal(ir);
    case 'attr':
      return ir.def.type.base === 'bool' && !ir.def.type.list
        ? `${noun(ir.root, ir.name)} is true`
        : noun(ir.root, ir.name);
    case 'has':
      return `${noun(ir.root, ir.name)} is given`;
    case 'not':
      return ir.operand.k === 'has'
        ? `${noun(ir.operand.root, ir.operand.name)} is not given`
        : `it is not the case that ${inWords(ir.operand)}`;
    case 'and':
      return `${inWords(ir.left)}, and ${inWords(ir.right)}`;
    case 'or':
      return `either ${inWords(ir.left)}, or ${inWords(ir.right)}`;
    case 'compare': {
      const l = ir.left.k === 'attr' ? noun(ir.left.root, ir.left.name) : inWords(ir.left);
      const r = ir.right.k === 'attr' ? noun(ir.right.root, ir.right.name) : inWords(ir.right);
      const time = ir.type.base === 'time';
      if (ir.right.k === 'const' && Array.isArray(ir.right.value) && ir.right.value.length === 0)
        return ir.op === '==' ? `${l} is empty` : `${l} is not empty`;
      const verb = {
        '==': 'is',
        '!=': 'is not',
        '<': time ? 'is before' : 'is less than',
        '<=': time ? 'is at or before' : 'is at most',
        '>': time ? 'is after' : 'is more than',
        '>=': time ? 'is at or after' : 'is at least',
      }[ir.op];
      return `${l} ${verb} ${r}`;
    }
    case 'in': {
      const l = ir.left.k === 'attr' ? noun(ir.left.root, ir.left.name) : inWords(ir.left);
      if (ir.right.k === 'const')
        return ir.mode === 'member' ? `${l} is ${literal(ir.right)}` : `${l} is within ${literal(ir.right)}`;
      const r = ir.right.k === 'attr' ? noun(ir.right.root, ir.right.name) : inWords(ir.right);
      return ir.mode === 'member'
        ? `${l} is one of ${r}`
        : `${l} is within ${ir.mode === 'ip-in-cidrs' ? 'one of ' : ''}${r}`;
    }
  }
}
