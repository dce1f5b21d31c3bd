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
