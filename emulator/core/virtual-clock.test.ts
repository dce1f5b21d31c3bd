import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from './virtual-clock.ts';

describe('VirtualClock', () => {
  it('fires callbacks in due order, with nowNs at each due time', () => {
    const clock = new VirtualClock();
    const seen: Array<[string, number]> = [];
    clock.schedule(30, () => seen.push(['c', clock.nowNs]));
    clock.schedule(10, () => seen.push(['a', clock.nowNs]));
    clock.schedule(20, () => seen.push(['b', clock.nowNs]));
    expect(clock.nextDueNs()).toBe(10);
    clock.advanceTo(25);
    expect(seen).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
    expect(clock.nowNs).toBe(25);
    clock.advanceTo(100);
    expect(seen.at(-1)).toEqual(['c', 30]);
    expect(clock.nextDueNs()).toBe(Infinity);
  });

  it('keeps scheduling order among equal due times', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) clock.schedule(5, () => seen.push(i));
    clock.advanceTo(5);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('fires callbacks that callbacks schedule within the window', () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    clock.schedule(10, () => {
      seen.push(clock.nowNs);
      clock.schedule(0, () => seen.push(clock.nowNs));
      clock.schedule(5, () => seen.push(clock.nowNs));
      clock.schedule(50, () => seen.push(clock.nowNs));
    });
    clock.advanceTo(20);
    expect(seen).toEqual([10, 10 + VirtualClock.TICK_NS, 15]);
    expect(clock.nextDueNs()).toBe(60);
  });

  it('moves time forward at every step: a callback due at or before now fires one tick later', () => {
    // Far enough from zero that a nanosecond's fraction is below float64 resolution.
    const clock = new VirtualClock(2 ** 42);
    const start = clock.nowNs;
    const times: number[] = [];
    const again = () => {
      times.push(clock.nowNs);
      // Bounded, so a clock that stands still ends the test instead of hanging it.
      if (times.length < 1_000) clock.schedule(1e-9, again);
    };
    clock.schedule(0, again);
    clock.advanceTo(start + 100);
    expect(times.length).toBe(100);
    expect(times[0]).toBe(start + VirtualClock.TICK_NS);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBe(times[i - 1]! + VirtualClock.TICK_NS);
    expect(clock.nowNs).toBe(start + 100);
  });

  it('cancels, and cancelling twice or after firing is harmless', () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    const a = clock.schedule(10, () => seen.push('a'));
    const b = clock.schedule(20, () => seen.push('b'));
    clock.cancel(a);
    clock.cancel(a);
    clock.advanceTo(30);
    clock.cancel(b);
    expect(seen).toEqual(['b']);
    expect(clock.pending).toBe(0);
  });

  it('never goes backwards and rejects bad delays', () => {
    const clock = new VirtualClock(100);
    clock.advanceTo(50);
    expect(clock.nowNs).toBe(100);
    expect(() => clock.schedule(-1, () => {})).toThrow(RangeError);
    expect(() => clock.schedule(Number.NaN, () => {})).toThrow(RangeError);
  });

  it('tells a listener when a new earliest callback appears', () => {
    const clock = new VirtualClock();
    const heads: number[] = [];
    clock.onEarliestChange = (due) => heads.push(due);
    clock.schedule(100, () => {});
    clock.schedule(200, () => {});
    clock.schedule(50, () => {});
    expect(heads).toEqual([100, 50]);
  });

  it('matches a sorted list under random schedules and cancels', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ delay: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), {
          maxLength: 60,
        }),
        (ops) => {
          const clock = new VirtualClock();
          const fired: number[] = [];
          const expected: Array<{ due: number; i: number }> = [];
          ops.forEach((op, i) => {
            const h = clock.schedule(op.delay, () => fired.push(i));
            if (op.cancel) clock.cancel(h);
            else expected.push({ due: Math.max(op.delay, VirtualClock.TICK_NS), i });
          });
          clock.advanceTo(1000);
          expected.sort((x, y) => x.due - y.due || x.i - y.i);
          expect(fired).toEqual(expected.map((e) => e.i));
        },
      ),
    );
  });
});
