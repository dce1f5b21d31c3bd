/** Hex encodings of the remote protocol: bytes as pairs of digits, registers little-endian. */

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Parses pairs of hex digits; undefined for an odd length or a non-hex digit. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A 32-bit register value as the target sends it: little-endian bytes. */
export function wordToHex(value: number): string {
  const v = value >>> 0;
  return bytesToHex(new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]));
}

/** A little-endian register value of up to 4 bytes, or undefined. */
export function hexToWord(hex: string): number | undefined {
  const bytes = hexToBytes(hex);
  if (!bytes || bytes.length === 0 || bytes.length > 4) return undefined;
  let v = 0;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8) | bytes[i]!;
  return v >>> 0;
}

/** A big-endian hex number as in `m addr,length` (no prefix), or undefined. */
export function parseHexNumber(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9a-fA-F]{1,8}$/.test(text)) return undefined;
  return Number.parseInt(text, 16);
}

export function textToHex(text: string): string {
  return bytesToHex(new TextEncoder().encode(text));
}

export function hexToText(hex: string): string | undefined {
  const bytes = hexToBytes(hex);
  return bytes ? new TextDecoder().decode(bytes) : undefined;
}
