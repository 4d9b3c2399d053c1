// A rule's matches over time, drawn for the report: a small inline SVG bar chart (no script; each bar's
// <title> is its tooltip) and the same series as a line of block characters for Markdown.

const BAR = 6;
const GAP = 1;
const HEIGHT = 28;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A bucket's time span in words: dates for day-sized buckets, minutes otherwise. */
function spanOf(since: number, bucketMs: number, i: number): string {
  const day = bucketMs % 86_400_000 === 0 && since % 86_400_000 === 0;
  const at = (t: number) =>
    day ? new Date(t).toISOString().slice(0, 10) : new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const from = since + i * bucketMs;
  return day && bucketMs === 86_400_000 ? at(from) : `${at(from)} to ${at(from + bucketMs)}`;
}

export function usageChartSvg(series: readonly number[], since: number, bucketMs: number, label: string): string {
  const max = Math.max(0, ...series);
  const width = series.length * (BAR + GAP) - GAP;
  const bars = series
    .map((n, i) => {
      const x = i * (BAR + GAP);
      const h = n === 0 ? 1 : Math.max(2, Math.round((n / max) * HEIGHT));
      const title = `${spanOf(since, bucketMs, i)}: ${n} match${n === 1 ? '' : 'es'}`;
      return `<rect class="${n === 0 ? 'none' : 'some'}" x="${x}" y="${HEIGHT - h}" width="${BAR}" height="${h}" data-count="${n}"><title>${esc(title)}</title></rect>`;
    })
    .join('');
  const total = series.reduce((a, b) => a + b, 0);
  return `<svg class="usage-chart" role="img" aria-label="${esc(`${label}: ${total} match${total === 1 ? '' : 'es'}, at most ${max} in one bar`)}" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" xmlns="http://www.w3.org/2000/svg">${bars}</svg>`;
}

const BLOCKS = '▁▂▃▄▅▆▇█';

export function usageSparkline(series: readonly number[]): string {
  const max = Math.max(0, ...series);
  return series
    .map((n) => (n === 0 ? '·' : BLOCKS[Math.min(BLOCKS.length - 1, Math.ceil((n / max) * BLOCKS.length) - 1)]))
    .join('');
}
