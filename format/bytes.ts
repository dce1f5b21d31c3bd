/**
 * Bytes for people, one way everywhere (the CLI, the browser console, the
 * demo): hex numbers and byte strings in upper case, a classic hex dump,
 * printable text with a middle dot for anything else, sizes in B/KiB/MiB,
 * and the one hex input syntax both accept. Imports nothing: any room may
 * use it, and the driver does not.
 */

/** 0x0000022C: a 32-bit register or address. */
export function hex32(value: number): string {
  return hex(value >>> 0, 8);
}

/** 0x0483 for hex(0x483, 4): a value in at least `digits` hex digits. */
export function hex(value: number, digits: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(digits, '0')}`;
}

/** "48 65 6C": each byte as two hex digits, `separator` between them. */
export function hexBytes(bytes: Uint8Array, separator = ' '): string {
  return Array.from(bytes, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join(separator);
}

/** What stands for a byte that is not printable ASCII. */
export const NOT_PRINTABLE = '·';

/** Printable ASCII as is, every other byte as a middle dot, so binary data stays readable. */
export function printable(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : NOT_PRINTABLE)).join('');
}

export interface HexDumpOptions {
  /** Offset of the first byte, for the first line's label (a dump that continues another). Default 0. */
  readonly start?: number;
  /** Bytes per line (default 16); lines of more than 8 split their hex into groups of 8. */
  readonly perRow?: number;
  /** The printable text between bars after the hex (default true); false where it is shown apart. */
  readonly text?: boolean;
}

/**
 * The classic hex dump, one string per line: the offset in 8 hex digits,
 * the bytes in hex in groups of 8, and the printable text between bars.
 */
export function hexDump(bytes: Uint8Array, options: HexDumpOptions = {}): string[] {
  const start = options.start ?? 0;
  const perRow = options.perRow ?? 16;
  const width = perRow * 3 - 1 + Math.floor((perRow - 1) / 8);
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += perRow) {
    const row = bytes.subarray(at, at + perRow);
    const groups: string[] = [];
    for (let g = 0; g < row.length; g += 8) groups.push(hexBytes(row.subarray(g, g + 8)));
    const offset = (start + at).toString(16).toUpperCase().padStart(8, '0');
    const hexPart = groups.join('  ');
    lines.push(
      options.text === false
        ? `${offset}  ${hexPart}`
        : `${offset}  ${hexPart.padEnd(width)}  |${printable(row)}|`,
    );
  }
  return lines;
}

/** 1536 → "1.5 KiB", 24576 → "24 KiB": one decimal below 10 of a unit, whole from 10; bytes below 1 KiB. */
export function byteSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const [value, unit] = n < 1024 * 1024 ? [n / 1024, 'KiB'] : [n / (1024 * 1024), 'MiB'];
  return `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
}

/** A short look at some bytes: quoted text when they read as text, else hex. */
export function preview(bytes: Uint8Array, max = 64): string {
  const shown = bytes.subarray(0, max);
  const more = bytes.length > shown.length ? ` (first ${shown.length} of ${bytes.length} bytes)` : '';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(shown);
  const readable = [...text].every(isTextCharacter);
  return `${readable ? JSON.stringify(text) : hexBytes(shown)}${more}`;
}

/** Printable characters plus tab, CR and LF; not a replacement character (bytes that are not UTF-8). */
function isTextCharacter(c: string): boolean {
  const code = c.codePointAt(0) ?? 0;
  if (code === 0x09 || code === 0x0a || code === 0x0d) return true;
  return code >= 0x20 && code !== 0x7f && code !== 0xfffd;
}

/** Hex input a person has to fix; the message says what is wrong and where. */
export class HexInputError extends Error {
  override name = 'HexInputError';
}

/** What may stand between bytes (and between digit pairs) in hex input. */
export const HEX_SEPARATORS = 'spaces, tabs, commas, colons, semicolons or hyphens';

/**
 * Parses hex input: "48 65 6c", "48656C", "0x48,0x65", "48:65-6c": pairs of
 * hex digits, each byte optionally prefixed by 0x, separated (or not) by
 * whitespace , : ; or -. Input with no digits gives no bytes.
 */
export function parseHex(text: string): Uint8Array {
  const digits = text.replace(/0x/gi, '').replace(/[\s,:;-]+/g, '');
  const bad = digits.search(/[^0-9a-f]/i);
  if (bad >= 0)
    throw new HexInputError(
      `"${digits[bad]}" is not a hex digit; write bytes as pairs of hex digits, separated by ${HEX_SEPARATORS}`,
    );
  if (digits.length % 2 !== 0)
    throw new HexInputError('hex input needs an even number of digits (two per byte)');
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}
