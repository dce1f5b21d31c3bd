import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArenaAllocator, ArenaExhaustedError, type ArenaRange } from './arena-allocator.ts';

const BASE = 0x2000_1000;
const SIZE = 0x7000;

describe('ArenaAllocator', () => {
  it('allocates aligned, non-overlapping ranges inside the arena', () => {
    const a = new ArenaAllocator(BASE, SIZE);
    const x = a.allocate(3, 1);
    const y = a.allocate(16, 16);
    expect(x.address).toBe(BASE);
    expect(y.address % 16).toBe(0);
    expect(y.address).toBeGreaterThanOrEqual(x.address + 3);
  });

  it('coalesces freed neighbours so the whole arena is available again', () => {
    const a = new ArenaAllocator(BASE, SIZE);
    const parts = [a.allocate(100), a.allocate(200), a.allocate(300)];
    a.release(parts[1]!);
    a.release(parts[0]!);
    a.release(parts[2]!);
    expect(a.largestFree()).toBe(SIZE);
    expect(a.allocate(SIZE).address).toBe(BASE);
  });

  it('throws a typed error naming the largest free block when exhausted', () => {
    const a = new ArenaAllocator(BASE, 1024);
    a.allocate(1000);
    expect(() => a.allocate(100)).toThrow(ArenaExhaustedError);
    expect(() => a.allocate(100)).toThrow(/largest free block: 24 bytes/);
  });

  it('refuses bad lengths, bad alignments and double frees', () => {
    const a = new ArenaAllocator(BASE, SIZE);
    expect(() => a.allocate(0)).toThrow(RangeError);
    expect(() => a.allocate(4, 3)).toThrow(RangeError);
    const r = a.allocate(8);
    a.release(r);
    expect(() => a.release(r)).toThrow(/not a live arena allocation/);
  });

  it('never hands out overlapping ranges under random allocate/release sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3000 }), fc.constantFrom(1, 2, 4, 8, 32)), {
          maxLength: 200,
        }),
        (steps) => {
          const a = new ArenaAllocator(BASE, SIZE);
          const live: ArenaRange[] = [];
          for (const [alloc, len, align] of steps) {
            if (alloc || live.length === 0) {
              try {
                const r = a.allocate(len, align);
                expect(r.address % align).toBe(0);
                expect(r.address).toBeGreaterThanOrEqual(BASE);
                expect(r.address + r.length).toBeLessThanOrEqual(BASE + SIZE);
                for (const o of live) {
                  expect(r.address + r.length <= o.address || o.address + o.length <= r.address).toBe(true);
                }
                live.push(r);
              } catch (e) {
                expect(e).toBeInstanceOf(ArenaExhaustedError);
              }
            } else {
              a.release(live.splice(len % live.length, 1)[0]!);
            }
          }
          for (const r of live) a.release(r);
          expect(a.largestFree()).toBe(SIZE);
        },
      ),
    );
  });
});

describe('ArenaAllocator at its edges', () => {
  it('refuses an arena that is not a whole, positive range', () => {
    for (const [base, size] of [
      [BASE + 0.5, 16],
      [BASE, 16.5],
      [BASE, 0],
      [BASE, -16],
    ] as const) {
      expect(() => new ArenaAllocator(base, size), `${base}, ${size}`).toThrow(
        `invalid arena: base ${base}, size ${size}`,
      );
    }
    expect(new ArenaAllocator(BASE, 1).allocate(1, 1)).toEqual({ address: BASE, length: 1 });
  });

  it('names a bad length or alignment', () => {
    const a = new ArenaAllocator(BASE, 64);
    for (const n of [0, -4, 2.5]) {
      expect(() => a.allocate(n)).toThrow(`a DMA buffer needs a whole, positive length; got ${n}`);
    }
    for (const align of [0, -4, 3, 1.5]) {
      expect(() => a.allocate(4, align)).toThrow(`alignment must be a power of two; got ${align}`);
    }
    expect(a.allocate(64, 1).length).toBe(64);
  });

  it('keeps the padding before and the tail after an aligned block free, and nothing empty', () => {
    const a = new ArenaAllocator(BASE + 2, 64);
    const r = a.allocate(8, 16);
    expect(r.address).toBe(BASE + 16);
    expect(a.freeRanges()).toEqual([
      { address: BASE + 2, length: 14 },
      { address: BASE + 24, length: 42 },
    ]);
    // A block that fills the rest exactly leaves no zero-length tail behind.
    a.allocate(42, 8);
    expect(a.freeRanges()).toEqual([{ address: BASE + 2, length: 14 }]);
  });

  it('refuses to release a range of the wrong length, and keeps the free list sorted', () => {
    const a = new ArenaAllocator(BASE, 64);
    const x = a.allocate(16);
    const y = a.allocate(16);
    const z = a.allocate(16);
    expect(() => a.release({ address: y.address, length: 8 })).toThrow(
      `0x${y.address.toString(16)} (+8) is not a live arena allocation`,
    );
    a.release(z);
    a.release(x);
    expect(a.freeRanges()).toEqual([
      { address: BASE, length: 16 },
      { address: BASE + 32, length: 32 },
    ]);
    expect(a.liveRanges()).toEqual([y]);
  });

  it('merges a freed range with a free neighbour only when they touch', () => {
    const a = new ArenaAllocator(BASE, 64);
    const x = a.allocate(16);
    a.allocate(16);
    const z = a.allocate(16);
    a.allocate(16);
    a.release(x);
    a.release(z);
    expect(a.freeRanges()).toEqual([
      { address: BASE, length: 16 },
      { address: BASE + 32, length: 16 },
    ]);
  });

  it('claims nothing of free blocks that only touch the range', () => {
    const a = new ArenaAllocator(BASE, 64);
    const x = a.allocate(8, 1); // [0, 8)
    const y = a.allocate(8, 1); // [8, 16)
    a.release(x);
    // [8, 16) is held; the free blocks [0, 8) and [16, 64) end and begin at its edges.
    expect(a.claimRange(BASE + 8, 8)).toEqual([]);
    expect(a.freeRanges()).toEqual([
      { address: BASE, length: 8 },
      { address: BASE + 16, length: 48 },
    ]);
    expect(a.liveRanges()).toEqual([y]);
  });

  it('lists live allocations by address, whatever their order', () => {
    const a = new ArenaAllocator(BASE, 64);
    const x = a.allocate(16);
    const y = a.allocate(16);
    a.release(x);
    const z = a.allocate(8);
    expect(a.liveRanges()).toEqual([z, y]);
  });

  it('claims exactly the free parts of a range, clipped to the arena', () => {
    const a = new ArenaAllocator(BASE, 64);
    const held = a.allocate(16, 1); // [0, 16)
    const other = a.allocate(8, 1); // [16, 24)
    a.release(other);
    // [8, 40): 8..16 is held already; 16..40 is free and is claimed.
    expect(a.claimRange(BASE + 8, 32)).toEqual([{ address: BASE + 16, length: 24 }]);
    expect(a.freeRanges()).toEqual([{ address: BASE + 40, length: 24 }]);
    expect(a.liveRanges()).toEqual([held, { address: BASE + 16, length: 24 }]);
    // Outside the arena, or empty: nothing.
    expect(a.claimRange(BASE - 16, 16)).toEqual([]);
    expect(a.claimRange(BASE + 64, 16)).toEqual([]);
    expect(a.claimRange(BASE + 48, 0)).toEqual([]);
    // Clipped at the arena's end, splitting a free block in two.
    expect(a.claimRange(BASE + 44, 100)).toEqual([{ address: BASE + 44, length: 20 }]);
    expect(a.freeRanges()).toEqual([{ address: BASE + 40, length: 4 }]);
    // A range inside one free block leaves both sides free.
    const b = new ArenaAllocator(BASE, 64);
    expect(b.claimRange(BASE + 8, 8)).toEqual([{ address: BASE + 8, length: 8 }]);
    expect(b.freeRanges()).toEqual([
      { address: BASE, length: 8 },
      { address: BASE + 16, length: 48 },
    ]);
    // Clipped at the arena's start.
    expect(b.claimRange(BASE - 4, 8)).toEqual([{ address: BASE, length: 4 }]);
  });
});

describe('ArenaExhaustedError', () => {
  it('says what holds the memory and what returns it', () => {
    const message = (held?: { owned: number; inTransfer: number; inDoubt: number; leaked: number }) =>
      new ArenaExhaustedError(100, 24, held).message;
    const head = 'the DMA arena has no free block of 100 bytes (largest free block: 24 bytes)';
    expect(message()).toBe(`${head}; free buffers you no longer need, or stop transfers that hold theirs`);
    expect(message({ owned: 0, inTransfer: 0, inDoubt: 0, leaked: 0 })).toBe(
      `${head}: the arena is too fragmented`,
    );
    expect(message({ owned: 64, inTransfer: 0, inDoubt: 0, leaked: 0 })).toBe(
      `${head}: 64 bytes are owned by DmaBuffers (free() those you no longer need)`,
    );
    expect(message({ owned: 0, inTransfer: 32, inDoubt: 0, leaked: 0 })).toBe(
      `${head}: 32 bytes are lent to running transfers (wait for them or stop them)`,
    );
    expect(message({ owned: 0, inTransfer: 0, inDoubt: 8, leaked: 4 })).toBe(
      `${head}: 12 bytes are in doubt or leaked (a DMA may still run on them: 8 in doubt, 4 leaked); only board.recover() returns them`,
    );
    expect(message({ owned: 1, inTransfer: 2, inDoubt: 0, leaked: 3 })).toBe(
      `${head}: 1 bytes are owned by DmaBuffers (free() those you no longer need); ` +
        '2 bytes are lent to running transfers (wait for them or stop them); ' +
        '3 bytes are in doubt or leaked (a DMA may still run on them: 0 in doubt, 3 leaked); only board.recover() returns them',
    );
    const e = new ArenaExhaustedError(100, 24);
    expect(e.name).toBe('ArenaExhaustedError');
    expect([e.requested, e.largestFree]).toEqual([100, 24]);
  });
});
