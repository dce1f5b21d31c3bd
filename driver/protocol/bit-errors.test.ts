import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../transport/prng.ts';
import { CRC16_POLY, crc16 } from './crc16.ts';
import { FrameDecoder } from './decoder.ts';
import { encodeMessage } from './encode.ts';
import { type Decoded, Limits } from './messages.ts';

/**
 * Why the syndrome method is exact.
 *
 * The receiver computes crc(received data) and compares it with the
 * received CRC field. Over GF(2) the CRC is affine in the data, so flipping
 * a set E of bit positions changes (computed XOR received) by the XOR of
 * the *syndromes* of the positions in E, whatever the frame's content:
 *   - flipping bit i (0..15) of the CRC field changes it by x^i = 1 << i;
 *   - flipping the data bit that is p bits before the end of the data
 *     changes the computed CRC by x^(16+p) mod g(x) (the CRC with initial
 *     value 0 of a message holding that single bit).
 * So position k of the body (counted from the end, CRC bits first) has
 * syndrome x^k mod g(x), and an error pattern is undetected exactly when
 * the syndromes of its positions XOR to 0. Hence, with s_k = x^k mod g:
 *   - every 1-bit error is detected  ⇔ every s_k ≠ 0;
 *   - every 2-bit error is detected  ⇔ the s_k are pairwise distinct;
 *   - every 3-bit error is detected  ⇔ no s_i ⊕ s_j equals some s_k
 *     (k ≠ i, j is automatic once the s are non-zero and distinct).
 * Checking these for all positions takes one pass over n² / 2 pairs with a
 * 64 K lookup table instead of n³ / 6 ≈ 10^11 trial frames.
 *
 * The largest body is 1030 bytes: 1028 bytes of header and payload under
 * the CRC (8224 bits) and the 16-bit CRC, 8240 bits in all. The proof runs
 * over 8240 + 16 = 8256 positions, which covers it with room to spare
 * (the syndromes of a shorter body are a prefix of this sequence).
 */
const POSITIONS = (Limits.headerLength + Limits.maxRequestPayload + Limits.crcLength) * 8 + 16;

function syndromes(n: number): Uint16Array {
  const s = new Uint16Array(n);
  let v = 1;
  for (let k = 0; k < n; k++) {
    s[k] = v;
    v = v & 0x8000 ? ((v << 1) ^ CRC16_POLY) & 0xffff : (v << 1) & 0xffff;
  }
  return s;
}

/** A maximum-size request frame: MEM_WRITE with 1020 seeded bytes, some zero. */
function maxFrame(): { body: Uint8Array; wire: Uint8Array } {
  const rng = mulberry32(42);
  const data = new Uint8Array(Limits.maxRequestPayload - 4);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.05 ? 0 : rng.byte();
  const wire = encodeMessage({
    kind: 'request',
    command: 'mem-write',
    seq: 0xbeef,
    address: 0x2000_4000,
    data,
  });
  const body = new Uint8Array(Limits.headerLength + data.length + 4 + Limits.crcLength);
  body.set([1, 0x07, 0xef, 0xbe, 0x00, 0x40, 0x00, 0x20]);
  body.set(data, 8);
  const c = crc16(body, 0, body.length - 2);
  body[body.length - 2] = c & 0xff;
  body[body.length - 1] = c >>> 8;
  return { body, wire };
}

/** The receiver's check on a body: does the CRC field match? */
function crcMatches(body: Uint8Array): boolean {
  const end = body.length - 2;
  return crc16(body, 0, end) === (body[end]! | (body[end + 1]! << 8));
}

/** Flips body bit `k` counted from the end (CRC bits first), as in the proof. */
function flip(body: Uint8Array, k: number): void {
  const n = body.length;
  if (k < 16) {
    // CRC field, low byte first: value bit k lives in byte k >> 3 of the field.
    body[n - 2 + (k >> 3)]! ^= 1 << (k & 7);
  } else {
    const p = k - 16;
    // Data is shifted MSB first, so the last bit in is bit 0 of the last byte.
    body[n - 3 - (p >> 3)]! ^= 1 << (p & 7);
  }
}

describe('CRC error detection on maximum-size frames', () => {
  it('detects every 1-, 2- and 3-bit error pattern (exact, by syndromes)', () => {
    const s = syndromes(POSITIONS);
    const positionOf = new Int32Array(65536).fill(-1);
    for (let k = 0; k < POSITIONS; k++) {
      const v = s[k]!;
      expect(v).not.toBe(0); // 1-bit errors
      expect(positionOf[v]).toBe(-1); // 2-bit errors
      positionOf[v] = k;
    }
    let undetected3 = 0;
    for (let i = 0; i < POSITIONS; i++) {
      const si = s[i]!;
      for (let j = i + 1; j < POSITIONS; j++) {
        if (positionOf[si ^ s[j]!] !== -1) undetected3++;
      }
    }
    expect(undetected3).toBe(0);
  });

  it('uses syndromes that match the real CRC (so the proof is about this code)', () => {
    const s = syndromes(POSITIONS);
    const { body } = maxFrame();
    const rng = mulberry32(7);
    const bodyBits = body.length * 8;
    for (let t = 0; t < 2000; t++) {
      const k = rng.int(bodyBits);
      const damaged = body.slice();
      flip(damaged, k);
      const end = body.length - 2;
      // computed CRC XOR received CRC field: 0 for the undamaged body.
      const syndrome = crc16(damaged, 0, end) ^ (damaged[end]! | (damaged[end + 1]! << 8));
      expect(syndrome).toBe(s[k]);
    }
  });

  it('detects every 1-bit error in the body by actually checking the CRC', () => {
    const { body } = maxFrame();
    expect(crcMatches(body)).toBe(true);
    let missed = 0;
    for (let k = 0; k < body.length * 8; k++) {
      flip(body, k);
      if (crcMatches(body)) missed++;
      flip(body, k);
    }
    expect(missed).toBe(0);
  });

  it('never decodes a message from a wire frame with any 1-bit error (exhaustive, through COBS)', () => {
    const { wire } = maxFrame();
    const decoder = new FrameDecoder();
    let accepted = 0;
    const onDecoded = (d: Decoded) => {
      if (d.kind !== 'corrupt') accepted++;
    };
    const damaged = wire.slice();
    const sync = new Uint8Array([0]);
    // The delimiter itself is left alone: flipping it merges two frames.
    for (let bit = 0; bit < (wire.length - 1) * 8; bit++) {
      damaged[bit >> 3]! ^= 1 << (bit & 7);
      decoder.push(damaged, onDecoded);
      decoder.push(sync, onDecoded);
      damaged[bit >> 3]! ^= 1 << (bit & 7);
    }
    expect(accepted).toBe(0);
    decoder.push(wire, onDecoded);
    expect(accepted).toBe(1);
  });

  it('never decodes a message from a wire frame with random 2- and 3-bit errors', () => {
    const { wire } = maxFrame();
    const decoder = new FrameDecoder();
    const rng = mulberry32(99);
    let accepted = 0;
    const onDecoded = (d: Decoded) => {
      if (d.kind !== 'corrupt') accepted++;
    };
    const bits = (wire.length - 1) * 8;
    const sync = new Uint8Array([0]);
    for (let t = 0; t < 20_000; t++) {
      const damaged = wire.slice();
      const flips = new Set<number>();
      const count = 2 + (t & 1);
      while (flips.size < count) flips.add(rng.int(bits));
      for (const b of flips) damaged[b >> 3]! ^= 1 << (b & 7);
      decoder.push(damaged, onDecoded);
      decoder.push(sync, onDecoded);
    }
    expect(accepted).toBe(0);
  });
});
