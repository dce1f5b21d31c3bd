import { describe, expect, it } from 'vitest';
import { HexInputError, hex32, hexDump, parseHex, printable } from './format.ts';

describe('parseHex', () => {
  it('takes pairs of digits with any common separator', () => {
    expect(Array.from(parseHex('48 65 6c'))).toEqual([0x48, 0x65, 0x6c]);
    expect(Array.from(parseHex('48656C'))).toEqual([0x48, 0x65, 0x6c]);
    expect(Array.from(parseHex('0x48,0x65;0x6C'))).toEqual([0x48, 0x65, 0x6c]);
    expect(parseHex('   ').length).toBe(0);
  });

  it('says which character is wrong, or that a digit is missing', () => {
    expect(() => parseHex('48 6g')).toThrow(HexInputError);
    expect(() => parseHex('48 6g')).toThrow('"g" is not a hex digit');
    expect(() => parseHex('48 6')).toThrow('even number of digits');
  });
});

describe('formatting', () => {
  it('writes 32-bit values unsigned, upper case, zero-padded', () => {
    expect(hex32(0x8b)).toBe('0x0000008B');
    expect(hex32(-1)).toBe('0xFFFFFFFF');
  });

  it('shows non-printable bytes as dots and dumps rows of a chosen width', () => {
    const bytes = new TextEncoder().encode('Hi\n');
    expect(printable(bytes)).toBe('Hi·');
    expect(hexDump(new Uint8Array(10).fill(0x41), 8).split('\n')).toEqual([
      '0000  41 41 41 41 41 41 41 41  AAAAAAAA',
      '0008  41 41                    AA',
    ]);
  });
});
