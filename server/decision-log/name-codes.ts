/** The code of `name` in a list of names (its index), adding it when new: batches and blocks code names alike. */
export function codeOf(codes: Map<string, number>, names: string[], name: string): number {
  let c = codes.get(name);
  if (c === undefined) {
    c = names.length;
    codes.set(name, c);
    names.push(name);
  }
  return c;
}
