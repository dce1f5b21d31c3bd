/** Bytes a caller hands the driver: copied once, anything else refused with what it was. */
import { describe, expect, it } from 'vitest';
import { copyHostBytes, isUint8Array } from './host-bytes.ts';

const refusal = (value: unknown) => {
  try {
    copyHostBytes(value, 'buffer.write()');
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return (e as Error).message;
  }
  return 'accepted';
};

describe('copyHostBytes', () => {
  it('gives a private copy of a Uint8Array', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const copy = copyHostBytes(bytes, 'x');
    expect(copy).toEqual(bytes);
    bytes[0] = 9;
    expect(copy[0]).toBe(1);
    expect(isUint8Array(copy)).toBe(true);
  });

  it('refuses anything else, naming the call and what it got', () => {
    const advice = ': encode text first, e.g. new TextEncoder().encode(text)';
    expect(refusal(null)).toBe(`buffer.write() takes a Uint8Array, not null${advice}`);
    expect(refusal('text')).toBe(`buffer.write() takes a Uint8Array, not string${advice}`);
    expect(refusal(undefined)).toBe(`buffer.write() takes a Uint8Array, not undefined${advice}`);
    expect(refusal([1, 2])).toBe(`buffer.write() takes a Uint8Array, not another object${advice}`);
    expect(refusal(new Uint16Array(2))).toBe(
      `buffer.write() takes a Uint8Array, not another object${advice}`,
    );
    expect(refusal(Object.create(Uint8Array.prototype))).toMatch(/not another object/);
  });
});
