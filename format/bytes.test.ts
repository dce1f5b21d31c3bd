import { describe, expect, it } from 'vitest';
import {
  byteSize,
  HexInputError,
  hex,
  hex32,
  hexBytes,
  hexDump,
  parseHex,
  preview,
  printable,
} from './bytes.ts';

describe('parseHex: the one hex input syntax of the CLI and the console', () => {
  it('takes pairs of digits, 0x prefixes, and whitespace , : ; - as separators', () => {
    for (const text of ['48 65 6c', '48656C', '0x48,0x65;0x6C', '48:65-6c', '0x48 0x65\t0x6c', '48, 65, 6c'])
      expect(Array.from(parseHex(text)), text).toEqual([0x48, 0x65, 0x6c]);
    expect(parseHex('   ').length).toBe(0);
  });

  it('says which character is wrong, or that a digit is missing', () => {
    expect(() => parseHex('48 6g')).toThrow(HexInputError);
    expect(() => parseHex('48 6g')).toThrow('"g" is not a hex digit');
    expect(() => parseHex('48 6')).toThrow('even number of digits');
    expect(() => parseHex('48_65')).toThrow('"_" is not a hex digit');
  });
});

describe('formatting bytes for people', () => {
  it('writes numbers unsigned, upper case, zero-padded', () => {
    expect(hex32(0x8b)).toBe('0x0000008B');
    expect(hex32(-1)).toBe('0xFFFFFFFF');
    expect(hex(0x483, 4)).toBe('0x0483');
    expect(hexBytes(Uint8Array.of(0x48, 0x6c, 0x0a))).toBe('48 6C 0A');
    expect(hexBytes(Uint8Array.of(0x48, 0x6c), '')).toBe('486C');
  });

  it('shows non-printable bytes as middle dots', () => {
    expect(printable(new TextEncoder().encode('Hi\n.'))).toBe('Hi·.');
  });

  it('dumps 16 bytes a line in two groups of 8, with the text between bars', () => {
    const bytes = new TextEncoder().encode('The quick brown fox');
    expect(hexDump(bytes)).toEqual([
      '00000000  54 68 65 20 71 75 69 63  6B 20 62 72 6F 77 6E 20  |The quick brown |',
      '00000010  66 6F 78                                          |fox|',
    ]);
    expect(hexDump(new Uint8Array(10).fill(0x41), { perRow: 8, start: 0x10, text: false })).toEqual([
      '00000010  41 41 41 41 41 41 41 41',
      '00000018  41 41',
    ]);
  });

  it('gives sizes in B, KiB and MiB, with a decimal only below 10', () => {
    expect([512, 1536, 4096, 24 * 1024, 40_800, 3 * 1024 * 1024, 300 * 1024 * 1024].map(byteSize)).toEqual([
      '512 B',
      '1.5 KiB',
      '4.0 KiB',
      '24 KiB',
      '40 KiB',
      '3.0 MiB',
      '300 MiB',
    ]);
  });

  it('previews text as a quoted string and anything else in hex', () => {
    expect(preview(new TextEncoder().encode('hello\n'))).toBe('"hello\\n"');
    expect(preview(Uint8Array.of(0, 0xff))).toBe('00 FF');
    expect(preview(new Uint8Array(70).fill(0x61), 4)).toBe('"aaaa" (first 4 of 70 bytes)');
  });
});
