/** How the commands lay out their human-readable output: columns and durations (bytes: format/bytes.ts). */

/** Two columns: labels padded to the longest one. */
export function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
}

/** Columns of a listing, each padded to its widest cell; the last is not padded. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** Milliseconds for people: "850 µs", "12.3 ms", "2.50 s". */
export function millis(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  // Number() drops a trailing ".0": "300 ms", "2 s", but "12.3 ms".
  if (ms < 1000) return `${Number(ms.toFixed(1))} ms`;
  return `${Number((ms / 1000).toFixed(2))} s`;
}
