/**
 * CRC-16/CCITT-FALSE (PROTOCOL.md §1): polynomial 0x1021, initial value
 * 0xFFFF, no reflection, no final XOR. Check value for "123456789": 0x29B1.
 *
 * Table-driven, one byte per step: the frame decoder runs this over every
 * received byte, so it is the codec's hottest loop.
 */

export const CRC16_POLY = 0x1021;
export const CRC16_INIT = 0xffff;

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ CRC16_POLY) & 0xffff : (crc << 1) & 0xffff;
    }
    table[byte] = crc;
  }
  return table;
}

/**
 * CRC of `data[start, end)`. `crc` lets a caller continue a running CRC
 * over several pieces; it defaults to the initial value.
 */
export function crc16(data: Uint8Array, start = 0, end = data.length, crc = CRC16_INIT): number {
  let c = crc;
  for (let i = start; i < end; i++) {
    // Both indices are in range by construction (i < end <= length, index < 256).
    c = ((c << 8) & 0xffff) ^ TABLE[((c >>> 8) ^ data[i]!) & 0xff]!;
  }
  return c;
}
