import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cobsDecode, cobsEncode, cobsMaxEncodedLength } from './cobs.ts';

function encode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(data.length));
  return out.slice(0, cobsEncode(data, 0, data.length, out));
}

function decode(data: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(data.length);
  const n = cobsDecode(data, 0, data.length, out);
  return n < 0 ? null : out.slice(0, n);
}

const hex = (s: string) => Uint8Array.from(s.split(' ').filter(Boolean), (h) => Number.parseInt(h, 16));
const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('COBS', () => {
  it.each([
    ['00', '01 01'],
    ['00 00', '01 01 01'],
    ['00 11 00', '01 02 11 01'],
    ['11 22 00 33', '03 11 22 02 33'],
    ['11 22 33 44', '05 11 22 33 44'],
    ['11 00 00 00', '02 11 01 01 01'],
  ])('encodes %s as %s (the published examples)', (input, output) => {
    expect(encode(hex(input))).toEqual(hex(output));
    expect(decode(hex(output))).toEqual(hex(input));
  });

  it('encodes 254 non-zero bytes with one byte of overhead', () => {
    const data = range(1, 254);
    const enc = encode(data);
    expect(enc.length).toBe(255);
    expect(enc[0]).toBe(0xff);
    expect(decode(enc)).toEqual(data);
  });

  it('encodes 255 non-zero bytes as two blocks', () => {
    const data = range(1, 255);
    const enc = encode(data);
    expect(enc.length).toBe(257);
    expect([enc[0], enc[255], enc[256]]).toEqual([0xff, 0x02, 0xff]);
  });

  it('accepts the non-minimal trailing 0x01 block some encoders emit', () => {
    const data = range(1, 254);
    const enc = new Uint8Array([...encode(data), 0x01]);
    expect(decode(enc)).toEqual(data);
  });

  it('round-trips any bytes, with no zero in the output and bounded overhead', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (data) => {
        const enc = encode(data);
        expect(enc.includes(0)).toBe(false);
        expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(data.length));
        expect(decode(enc)).toEqual(data);
      }),
    );
  });

  it('round-trips long runs of non-zero bytes around block boundaries', () => {
    for (let n = 250; n < 1040; n++) {
      const data = new Uint8Array(n).fill(0x55);
      const back = decode(encode(data));
      // Checked without toEqual: 800 deep comparisons of kilobyte arrays are slow.
      expect(back?.length === n && back.every((b) => b === 0x55)).toBe(true);
    }
  });

  it('rejects a code that runs past the end and a zero inside', () => {
    expect(decode(hex('05 11 22'))).toBeNull();
    expect(decode(hex('03 11 00'))).toBeNull();
    expect(decode(hex('00'))).toBeNull();
  });
});
