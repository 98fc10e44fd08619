/** Tiny statistics and formatting helpers for benchmark tables. */

/** Median of the values (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function max(values: number[]): number {
  return values.length ? Math.max(...values) : NaN;
}

/** 1234 → "1.23 s", 87 → "87 ms". */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** Left-aligned text columns; numbers (and "n/m" or "x s" cells) right-aligned. */
export function formatTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  const numeric = (c: string) => /^[-\d.,]+( ?(ms|s|%))?$/.test(c);
  return rows
    .map((r) =>
      r
        .map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
