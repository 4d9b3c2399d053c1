// Tests wait for what they expect to happen, never for a length of time: on a busy machine anything can
// take longer. The limit only turns a hang into a message naming what never came; it is far beyond any
// delay a working sidecar shows, even on a loaded machine.
export async function until(what: string, ok: () => boolean | Promise<boolean>, limitMs = 120_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not seen within ${limitMs / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
