import { describe, expect, it } from 'vitest';
import { receiverTolerance, sameRate, sampleLine } from './uart-waveform.ts';

const bit = (baud: number) => 1e9 / baud;
const bytes = Array.from({ length: 256 }, (_, i) => i);
const clean = (chars: ReturnType<typeof sampleLine>) => chars.every((c) => !c.framingError && !c.noise);

describe('a serial line between ends at different rates', () => {
  it('carries every byte unharmed at the same rate, each received at its stop bit', () => {
    const got = sampleLine(bytes, bit(2_000_000), bit(2_000_000));
    expect(got.map((c) => c.byte)).toEqual(bytes);
    expect(clean(got)).toBe(true);
    expect(got[0]!.atNs).toBeCloseTo((9 + 10 / 16) * 500);
    expect(got[255]!.atNs).toBeCloseTo(255 * 5000 + (9 + 10 / 16) * 500);
  });

  it('tolerates the clock deviation a 16x-oversampling receiver tolerates (about 3 %), both ways', () => {
    for (const ratio of [0.97, 1.03]) {
      const got = sampleLine(bytes, bit(115_200) * ratio, bit(115_200));
      expect(got.map((c) => c.byte)).toEqual(bytes);
      expect(got.every((c) => !c.framingError)).toBe(true);
    }
  });

  it('garbles bytes once the deviation is past the tolerance', () => {
    for (const ratio of [0.93, 1.07]) {
      const got = sampleLine(bytes, bit(115_200) * ratio, bit(115_200));
      const intact =
        got.length === bytes.length && got.every((c, i) => c.byte === bytes[i] && !c.framingError);
      expect(intact).toBe(false);
      expect(got.some((c) => c.framingError)).toBe(true);
    }
  });

  it('turns a 0x00 sent at a slow rate into a 0x00 with a framing error at a fast one', () => {
    const got = sampleLine([0x00], bit(115_200), bit(2_000_000));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ byte: 0x00, framingError: true });
  });

  it('gives a slow receiver fewer, wrong characters from a fast sender', () => {
    const sent = [0x7e, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];
    const got = sampleLine(sent, bit(2_000_000), bit(115_200));
    expect(got.length).toBeLessThan(sent.length);
    expect(got.map((c) => c.byte)).not.toEqual(sent.slice(0, got.length));
  });

  it('gives a fast receiver many characters, with framing errors, from a slow sender', () => {
    const got = sampleLine([0x55, 0xa5, 0x7e], bit(115_200), bit(2_000_000));
    expect(got.length).toBeGreaterThan(3);
    expect(got.some((c) => c.framingError)).toBe(true);
  });

  it("takes RM0444 §33.5.8's tolerance figures for the receiver's configuration", () => {
    expect(receiverTolerance()).toBe(0.0375);
    expect(receiverTolerance({ fractionalBrr: true })).toBe(0.0333);
    expect(receiverTolerance({ oneBit: true })).toBe(0.04375);
    expect(receiverTolerance({ over8: true })).toBe(0.025);
    expect(receiverTolerance({ wordBits: 9 })).toBe(0.0341);
    expect(receiverTolerance({ wordBits: 9, fractionalBrr: true, over8: true })).toBe(0.0182);
  });

  it('receives a sender up to the tolerance off, either way, and flags every character past it', () => {
    for (const [ratio, sampling, intact] of [
      [1.037, {}, true],
      [0.963, {}, true],
      [1.039, {}, false],
      [0.961, {}, false],
      [1.033, { fractionalBrr: true }, true],
      [1.034, { fractionalBrr: true }, false],
      // A sender 5 % slow: the ideal sampler would decode it, but RM0444 promises nothing there.
      [1.05, {}, false],
    ] as const) {
      const got = sampleLine(bytes, bit(115_200) * ratio, bit(115_200), sampling);
      expect(got.length === bytes.length && clean(got) && got.every((c, i) => c.byte === bytes[i])).toBe(
        intact,
      );
      if (!intact) expect(got.every((c) => c.noise || c.framingError)).toBe(true);
    }
  });

  it('knows the same rate from rounding noise', () => {
    expect(sameRate(bit(2_000_000), 500)).toBe(true);
    expect(sameRate(bit(115_200), bit(115_108))).toBe(false);
  });
});
