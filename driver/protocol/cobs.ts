/**
 * Consistent Overhead Byte Stuffing (Cheshire and Baker 1999), without the
 * trailing delimiter: the framing layer adds and strips the 0x00.
 *
 * Both functions work on caller-provided buffers so that the frame encoder
 * and the streaming decoder can reuse theirs instead of allocating per frame.
 */

/** The most bytes `n` input bytes can encode to: one code byte per started run of 254. */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.max(1, Math.ceil(n / 254));
}

/**
 * Encodes `src[start, end)` into `dst` at `dstOffset`. Returns the number
 * of bytes written. `dst` must have room for `cobsMaxEncodedLength(end - start)`.
 */
export function cobsEncode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstOffset = 0,
): number {
  let codeIndex = dstOffset;
  let out = dstOffset + 1;
  let code = 1;
  for (let i = start; i < end; i++) {
    const b = src[i]!;
    if (b === 0) {
      dst[codeIndex] = code;
      codeIndex = out++;
      code = 1;
    } else {
      dst[out++] = b;
      code++;
      // A full run of 254 data bytes: close the block without an implied
      // zero. When the input ends right here no further block is opened, so
      // 254 non-zero bytes cost exactly one byte of overhead.
      if (code === 0xff) {
        dst[codeIndex] = code;
        if (i + 1 === end) return out - dstOffset;
        codeIndex = out++;
        code = 1;
      }
    }
  }
  dst[codeIndex] = code;
  return out - dstOffset;
}

/**
 * Decodes `src[start, end)` (which must contain no 0x00) into `dst`.
 * Returns the decoded length, or -1 when the input is not valid COBS (a
 * zero byte inside, or a code that runs past the end). Accepts both the
 * minimal encoding and encoders that end a trailing full run with an extra
 * 0x01 block, since both decode to the same bytes. `dst` needs `end - start`
 * bytes of room.
 */
export function cobsDecode(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  dstOffset = 0,
): number {
  let i = start;
  let out = dstOffset;
  while (i < end) {
    const code = src[i++]!;
    if (code === 0) return -1;
    const blockEnd = i + code - 1;
    if (blockEnd > end) return -1;
    while (i < blockEnd) {
      const b = src[i++]!;
      if (b === 0) return -1;
      dst[out++] = b;
    }
    // Every block but the last and but a full one stands for a zero byte.
    if (code !== 0xff && i < end) dst[out++] = 0;
  }
  return out - dstOffset;
}
