// A small Pratt parser for conditions. Words (`and`, `or`, `not`, `in`) read aloud; symbols are accepted too.
//   or  <  and  <  not  <  == != < <= > >= in
import type { AttrExpr, CompareOp, Expr, Root, Span } from './ast.js';

export interface ConditionSyntaxError {
  message: string;
  offset: number;
}

type Token =
  | { t: 'ident'; v: string; start: number; end: number }
  | { t: 'string'; v: string; start: number; end: number }
  | { t: 'number'; v: number; start: number; end: number }
  | { t: 'op'; v: string; start: number; end: number }
  | { t: 'eof'; start: number; end: number };

const SYMBOLS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', ',', '.'];
const ROOTS: readonly Root[] = ['principal', 'resource', 'context'];
const NUMBER = /-?\d+(\.\d+)?/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

class SyntaxFailure extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r') {
      i++;
      continue;
    }
    const start = i;
    if (ch === '"' || ch === "'") {
      let v = '';
      i++;
      while (i < src.length && src[i] !== ch) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        v += src[i];
        i++;
      }
      if (i >= src.length) throw new SyntaxFailure(start, 'unterminated string literal');
      i++;
      out.push({ t: 'string', v, start, end: i });
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(src);
    if (num && (ch !== '-' || !/[\w)\]]/.test(prevNonSpace(src, i)))) {
      i += num[0].length;
      out.push({ t: 'number', v: Number(num[0]), start, end: i });
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(src);
    if (ident) {
      i += ident[0].length;
      out.push({ t: 'ident', v: ident[0], start, end: i });
      continue;
    }
    const sym = SYMBOLS.find((s) => src.startsWith(s, i));
    if (sym) {
      i += sym.length;
      out.push({ t: 'op', v: sym, start, end: i });
      continue;
    }
    if (ch === '=') throw new SyntaxFailure(start, 'unexpected `=`; compare with `==`');
    throw new SyntaxFailure(start, `unexpected character \`${ch}\``);
  }
  out.push({ t: 'eof', start: src.length, end: src.length });
  return out;
}

function prevNonSpace(src: string, i: number): string {
  for (let j = i - 1; j >= 0; j--) if (!/\s/.test(src[j]!)) return src[j]!;
  return '';
}

const COMPARE_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private isWord(tok: Token, word: string): boolean {
    return tok.t === 'ident' && tok.v === word;
  }
  private isOp(tok: Token, op: string): boolean {
    return tok.t === 'op' && tok.v === op;
  }

  private expectOp(op: string, what: string): Token {
    const tok = this.next();
    if (!this.isOp(tok, op)) throw new SyntaxFailure(tok.start, `expected \`${op}\` ${what}, found ${describe(tok)}`);
    return tok;
  }

  parseAll(): Expr {
    const e = this.parseOr();
    const tok = this.peek();
    if (tok.t !== 'eof')
      throw new SyntaxFailure(tok.start, `unexpected ${describe(tok)}; join conditions with \`and\` or \`or\``);
    return e;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isWord(this.peek(), 'or') || this.isOp(this.peek(), '||')) {
      this.next();
      const right = this.parseAnd();
      left = { kind: 'or', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isWord(this.peek(), 'and') || this.isOp(this.peek(), '&&')) {
      this.next();
      const right = this.parseNot();
      left = { kind: 'and', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private parseNot(): Expr {
    const tok = this.peek();
    if (this.isWord(tok, 'not') || this.isOp(tok, '!')) {
      this.next();
      const operand = this.parseNot();
      return { kind: 'not', operand, span: { start: tok.start, end: operand.span.end } };
    }
    return this.parseComparison();
  }

  private parseComparison(): Expr {
    const left = this.parsePrimary();
    const tok = this.peek();
    if (tok.t === 'op' && COMPARE_OPS.has(tok.v)) {
      this.next();
      const right = this.parsePrimary();
      return { kind: 'compare', op: tok.v as CompareOp, left, right, span: join(left.span, right.span) };
    }
    if (this.isWord(tok, 'in')) {
      this.next();
      const right = this.parsePrimary();
      return { kind: 'in', left, right, span: join(left.span, right.span) };
    }
    return left;
  }

  private parsePrimary(): Expr {
    const tok = this.next();
    const span: Span = { start: tok.start, end: tok.end };
    switch (tok.t) {
      case 'string':
        return { kind: 'literal', value: tok.v, span };
      case 'number':
        return { kind: 'literal', value: tok.v, span };
      case 'op':
        if (tok.v === '(') {
          const inner = this.parseOr();
          const close = this.expectOp(')', 'to close `(`');
          return { ...inner, span: { start: tok.start, end: close.end } };
        }
        if (tok.v === '[') return this.parseList(tok);
        throw new SyntaxFailure(tok.start, `unexpected ${describe(tok)}`);
      case 'ident':
        if (tok.v === 'true' || tok.v === 'false') return { kind: 'literal', value: tok.v === 'true', span };
        if (tok.v === 'has') {
          this.expectOp('(', 'after `has`');
          const target = this.parseAttr(this.next());
          const close = this.expectOp(')', 'to close `has(`');
          return { kind: 'has', target, span: { start: tok.start, end: close.end } };
        }
        return this.parseAttr(tok);
      case 'eof':
        throw new SyntaxFailure(tok.start, 'the condition ends too early');
    }
  }

  private parseAttr(tok: Token): AttrExpr {
    if (tok.t !== 'ident')
      throw new SyntaxFailure(tok.start, `expected an attribute such as \`resource.fleet\`, found ${describe(tok)}`);
    if (!(ROOTS as readonly string[]).includes(tok.v)) {
      throw new SyntaxFailure(
        tok.start,
        `unknown name \`${tok.v}\`; attributes start with principal., resource. or context.`,
      );
    }
    this.expectOp('.', `after \`${tok.v}\``);
    const name = this.next();
    if (name.t !== 'ident') throw new SyntaxFailure(name.start, `expected an attribute name after \`${tok.v}.\``);
    if (this.isOp(this.peek(), '.')) {
      throw new SyntaxFailure(this.peek().start, 'nested attributes are not supported; attributes are one level deep');
    }
    return { kind: 'attr', root: tok.v as Root, name: name.v, span: { start: tok.start, end: name.end } };
  }

  private parseList(open: Token): Expr {
    const items: Expr[] = [];
    if (this.isOp(this.peek(), ']')) {
      const close = this.next();
      return { kind: 'list', items, span: { start: open.start, end: close.end } };
    }
    for (;;) {
      items.push(this.parsePrimary());
      const tok = this.next();
      if (this.isOp(tok, ']')) return { kind: 'list', items, span: { start: open.start, end: tok.end } };
      if (!this.isOp(tok, ','))
        throw new SyntaxFailure(tok.start, `expected \`,\` or \`]\` in a list, found ${describe(tok)}`);
    }
  }
}

function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

function describe(tok: Token): string {
  if (tok.t === 'eof') return 'the end of the condition';
  if (tok.t === 'string') return `the string "${tok.v}"`;
  return `\`${String(tok.v)}\``;
}

export function parseCondition(src: string): { expr: Expr } | { error: ConditionSyntaxError } {
  try {
    return { expr: new Parser(tokenize(src)).parseAll() };
  } catch (e) {
    if (e instanceof SyntaxFailure) return { error: { message: e.message, offset: e.offset } };
    throw e;
  }
}
