import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16 } from './crc16.ts';

/** Bit-at-a-time reference, to check the table against. */
function crcBitwise(data: Uint8Array): number {
  let c = 0xffff;
  for (const b of data) {
    c ^= b << 8;
    for (let i = 0; i < 8; i++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
  }
  return c;
}

describe('crc16 (CRC-16/CCITT-FALSE)', () => {
  it('gives the check value 0x29B1 for "123456789"', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x29b1);
  });

  it('gives the initial value for no data', () => {
    expect(crc16(new Uint8Array(0))).toBe(0xffff);
  });

  it('matches a bitwise implementation', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (d) => crc16(d) === crcBitwise(d)));
  });

  it('can be continued over pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), (d, cut) => {
        const k = d.length === 0 ? 0 : cut % d.length;
        return crc16(d, k, d.length, crc16(d, 0, k)) === crc16(d);
      }),
    );
  });
});
