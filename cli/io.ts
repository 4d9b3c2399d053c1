// Shared CLI plumbing: output, reading a file or stdin, and the exit codes of the README ("Command line").
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { formatDiagnostic, type Diagnostic } from '../engine/index.js';

export const EXIT = { ok: 0, found: 1, usage: 2, unknown: 3 } as const;

export class UsageError extends Error {}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printDiagnostics(diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) err(formatDiagnostic(d));
}

export function readInput(path: string): string {
  return path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
}

export function readJson(path: string): unknown {
  const text = readInput(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Validates CLI input with zod; the first problem becomes a usage error naming the field. */
export function parseOrUsage<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
  field = (path: string) => path,
): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new UsageError(`${what}: ${field(issue.path.map(String).join('.')) || '(root)'}: ${issue.message}`);
}
