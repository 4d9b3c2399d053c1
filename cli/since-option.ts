// `--since 30d`: a duration back from now (`90m`, `12h`, `30d`, `2w`) or an RFC 3339 time.
import { parseTime } from '../engine/lang/index.js';
import { UsageError } from './io.js';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const SINCE_HELP = 'start of the window: a duration back from now (90m, 12h, 30d, 2w) or an RFC 3339 time';

export function parseSince(value: string, now: number, flag = '--since'): number {
  const duration = /^(\d+)([mhdw])$/.exec(value);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2]!]!;
  const t = parseTime(value);
  if (t === undefined) throw new UsageError(`${flag} takes a duration such as 30d or an RFC 3339 time, not "${value}"`);
  return t;
}
