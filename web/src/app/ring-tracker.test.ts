import { describe, expect, it } from 'vitest';
import { RingTracker } from './ring-tracker.ts';

/** A ring of `size` bytes at `base` where byte n of the stream sits at n mod size. */
function ringMemory(size: number, base: number, stream: number[]) {
  const memory = new Uint8Array(size);
  stream.forEach((b, i) => {
    memory[i % size] = b;
  });
  return async (address: number, length: number) => memory.slice(address - base, address - base + length);
}

const BASE = 0x2000_1000;

describe('RingTracker', () => {
  it('hands over what arrived in the current half at idle, then only the rest of that half', async () => {
    const t = new RingTracker(8, BASE);
    const stream = [1, 2, 3];
    // 3 bytes in: CNDTR = 8 - 3.
    expect([...((await t.partial(5, ringMemory(8, BASE, stream))) ?? [])]).toEqual([1, 2, 3]);
    expect([...t.half(Uint8Array.of(1, 2, 3, 4))]).toEqual([4]);
    expect(t.position).toBe(4);
  });

  it('gives nothing when the DMA is already past the half not yet handed over', async () => {
    const t = new RingTracker(8, BASE);
    // 6 bytes in: the first half is full but the iteration has not handed it over.
    expect(await t.partial(2, ringMemory(8, BASE, [1, 2, 3, 4, 5, 6]))).toBeUndefined();
    expect([...t.half(Uint8Array.of(1, 2, 3, 4))]).toEqual([1, 2, 3, 4]);
    expect([...((await t.partial(2, ringMemory(8, BASE, [1, 2, 3, 4, 5, 6]))) ?? [])]).toEqual([5, 6]);
  });

  it('follows the laps: the second lap’s first half after a wrap', async () => {
    const t = new RingTracker(4, BASE);
    const stream = [1, 2, 3, 4, 5];
    t.half(Uint8Array.of(1, 2));
    t.half(Uint8Array.of(3, 4));
    // One byte into the second lap: CNDTR = 3.
    expect([...((await t.partial(3, ringMemory(4, BASE, stream))) ?? [])]).toEqual([5]);
    // Nothing new at the same place.
    expect((await t.partial(3, ringMemory(4, BASE, stream)))?.length).toBe(0);
    expect([...t.half(Uint8Array.of(5, 6))]).toEqual([6]);
  });

  it('a reload to the full count (a lap just ended) means the second half is full, not empty', async () => {
    const t = new RingTracker(4, BASE);
    t.half(Uint8Array.of(1, 2));
    expect(await t.partial(4, ringMemory(4, BASE, [1, 2, 3, 4]))).toBeUndefined();
    expect([...t.half(Uint8Array.of(3, 4))]).toEqual([3, 4]);
    expect((await t.partial(4, ringMemory(4, BASE, [1, 2, 3, 4])))?.length).toBe(0);
  });
});
