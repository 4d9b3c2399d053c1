// `--since` of `fleetguard shadow-report` and `?since=` of `GET /v1/admin/shadow`: an RFC 3339 time, or a
// span back from now (`30d`, `12h`, `90m`, `45s`), as `fleetguard unused --since 30d` takes it.
import { parseTime } from '../../engine/lang/index.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const SINCE_HELP =
  'an RFC 3339 time such as 2026-06-01T00:00:00Z, or a span back from now such as 30d, 12h or 90m';

/** Epoch ms, or undefined when `text` is neither form. */
export function parseSince(text: string, now: number): number | undefined {
  const span = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (span) return now - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS];
  return parseTime(text);
}
