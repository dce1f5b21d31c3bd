/** Small text helpers shared by the commands' human-readable output. */

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).padStart(8, '0')}`;
}

export function hex(value: number, digits: number): string {
  return `0x${value.toString(16).padStart(digits, '0')}`;
}

export function hexBytes(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

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

/**
 * The classic hex dump: offset, 16 bytes in two groups of 8, and the
 * printable ASCII between bars. `start` numbers the first line (monitor
 * output continues where the previous half ended).
 */
export function hexDump(bytes: Uint8Array, start = 0): string[] {
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, at + 16);
    const cells = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = cells.slice(0, 8).join(' ');
    const right = cells.slice(8).join(' ');
    const hexPart = `${left.padEnd(23)}  ${right.padEnd(23)}`;
    lines.push(`${(start + at).toString(16).padStart(8, '0')}  ${hexPart}  |${printable(row)}|`);
  }
  return lines;
}

/** ASCII as is, everything else as a dot: what a hex dump shows beside the bytes. */
export function printable(bytes: Uint8Array): string {
  return String.fromCharCode(...[...bytes].map((b) => (b >= 0x20 && b < 0x7f ? b : 0x2e)));
}

/** Bytes as text for one line of output: UTF-8, with control characters escaped. */
export function quotedText(bytes: Uint8Array): string {
  return JSON.stringify(new TextDecoder().decode(bytes));
}

/** 1536 → "1.5 KiB". */
export function byteSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Milliseconds for people: "850 µs", "12.3 ms", "2.50 s". */
export function millis(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  // Number() drops a trailing ".0": "300 ms", "2 s", but "12.3 ms".
  if (ms < 1000) return `${Number(ms.toFixed(1))} ms`;
  return `${Number((ms / 1000).toFixed(2))} s`;
}

/** A short look at some bytes: quoted text when they read as text, else hex. */
export function preview(bytes: Uint8Array, max = 64): string {
  const shown = bytes.subarray(0, max);
  const more = bytes.length > shown.length ? ` (first ${shown.length} of ${bytes.length} bytes)` : '';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(shown);
  const readable = [...text].every(isTextCharacter);
  return `${readable ? JSON.stringify(text) : hexBytes(shown).replace(/(..)(?!$)/g, '$1 ')}${more}`;
}

/** Printable characters plus tab, CR and LF; not a replacement character (bytes that are not UTF-8). */
function isTextCharacter(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  if (code === 0x09 || code === 0x0a || code === 0x0d) return true;
  return code >= 0x20 && code !== 0x7f && code !== 0xfffd;
}
