/** Numbers and bytes as the console shows them. */

export function hex32(value: number): string {
  return `0x${(value >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

export function hex16(value: number): string {
  return `0x${(value & 0xffff).toString(16).toUpperCase().padStart(4, '0')}`;
}

export function hexBytes(bytes: Uint8Array, separator = ' '): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(separator);
}

/** Printable ASCII as is, everything else as a middle dot, so binary data stays readable. */
export function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '·')).join('');
}

/** A classic hex dump: offset (from `base`), `perRow` bytes in hex, the same bytes as text. */
export function hexDump(bytes: Uint8Array, perRow = 16, base = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += perRow) {
    const row = bytes.subarray(i, i + perRow);
    const hex = hexBytes(row).padEnd(perRow * 3 - 1, ' ');
    lines.push(`${(base + i).toString(16).padStart(4, '0')}  ${hex}  ${printable(row)}`);
  }
  return lines.join('\n');
}

/** Thrown for hex input the user has to fix; the message says where. */
export class HexInputError extends Error {
  override name = 'HexInputError';
}

/** Parses `48 65 6c`, `48656c`, `0x48,0x65`: pairs of hex digits, separators ignored. */
export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/0x/gi, '').replace(/[\s,;:]/g, '');
  const bad = digits.search(/[^0-9a-f]/i);
  if (bad >= 0) throw new HexInputError(`"${digits[bad]}" is not a hex digit`);
  if (digits.length % 2 !== 0)
    throw new HexInputError('hex input needs an even number of digits (two per byte)');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Exact: a count is never rounded (only whole KiB are shown in KiB). */
export function formatBytesCount(n: number): string {
  if (n < 1024 || n % 1024 !== 0) return `${n} B`;
  return `${n / 1024} KiB`;
}

/** Milliseconds since the session started, as `12.345 s`, for log timestamps. */
export function formatElapsed(ms: number): string {
  return `${(ms / 1000).toFixed(3).padStart(8, ' ')} s`;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The error's class name when it is one of ours (DriverError's subclasses set `name`). */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}
