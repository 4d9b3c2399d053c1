// Condition syntax tree, straight from the parser: untyped, every node with its span in the source text.

export type Root = 'principal' | 'resource' | 'context';
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface Span {
  start: number;
  end: number;
}

export type Expr =
  | { kind: 'literal'; value: string | number | boolean; span: Span }
  | { kind: 'list'; items: Expr[]; span: Span }
  | { kind: 'attr'; root: Root; name: string; span: Span }
  | { kind: 'has'; target: Extract<Expr, { kind: 'attr' }>; span: Span }
  | { kind: 'not'; operand: Expr; span: Span }
  | { kind: 'and' | 'or'; left: Expr; right: Expr; span: Span }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr; span: Span }
  | { kind: 'in'; left: Expr; right: Expr; span: Span };

export type AttrExpr = Extract<Expr, { kind: 'attr' }>;
