import { describe, expect, it } from 'vitest';
import { MIN_RING_BYTES, planListenRing, SEND_RESERVE_BYTES } from './listen-ring.ts';

describe('the always-on reception ring', () => {
  it('takes all the arena it can spare when the line is faster than the link', () => {
    const plan = planListenRing(24 * 1024, 921_600, 115_200);
    expect(plan.bytes).toBe(24 * 1024 - SEND_RESERVE_BYTES);
    // The link drains 80 % of 11520 B/s while 92160 B/s arrive: a 16 KB burst fits.
    expect(plan.longestBurst).toBeGreaterThan(16 * 1024);
    expect(plan.bytes % 2).toBe(0);
  });

  it('holds half a second of line time twice when the link keeps up', () => {
    const plan = planListenRing(24 * 1024, 115_200, 2_000_000);
    expect(plan.bytes).toBe(16 * 1024); // 2 × 5760 B rounded up to a power of two
    expect(plan.longestBurst).toBe(Number.POSITIVE_INFINITY);
    expect(planListenRing(24 * 1024, 9600, 2_000_000).bytes).toBe(1024);
    expect(planListenRing(24 * 1024, 1200, 2_000_000).bytes).toBe(MIN_RING_BYTES);
  });

  it('never asks for more than the arena minus the room sends need', () => {
    expect(planListenRing(4096, 921_600, 115_200).bytes).toBe(4096 - SEND_RESERVE_BYTES);
    expect(planListenRing(1000, 115_200, 2_000_000).bytes).toBe(2);
  });
});
