// A quick yes for the requests that are certainly valid (plain objects, non-empty strings), so the
// embedded hot path skips zod (its cost is of the order of a decision's); anything else is judged, and worded,
// by zod itself.
// Never accepts what zod refuses (a property test holds it to that).
const isPlain = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== 'object' || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
};
const isName = (x: unknown) => typeof x === 'string' && x.length > 0;
const isOptionalRecord = (x: unknown) => x === undefined || isPlain(x);
const isEntity = (x: unknown) => isPlain(x) && isName(x.type) && isName(x.id) && isOptionalRecord(x.attributes);

export function surelyValidRequest(x: unknown): boolean {
  if (!isPlain(x) || !isName(x.action) || !isEntity(x.resource) || !isOptionalRecord(x.context)) return false;
  const p = x.principal;
  return isEntity(p) || (isPlain(p) && isName(p.credential));
}
