import { describe, expect, it } from 'vitest';
import { EventTracker } from './event-tracker.ts';

describe('EventTracker: event counters and reply marks', () => {
  it('takes the first event (or BOOT) as the start of the sequence, then expects one more each time', () => {
    const t = new EventTracker();
    expect(t.floor()).toBeUndefined();
    expect(t.observe(7, false)).toEqual({ kind: 'next' });
    expect(t.floor()).toEqual({ era: 0, expected: 8, position: 1 });
    expect(t.observe(8, false)).toEqual({ kind: 'next' });
    expect(t.floor()).toEqual({ era: 0, expected: 9, position: 2 });
    // BOOT restarts the sequence wherever it stood.
    expect(t.observe(0, true)).toEqual({ kind: 'next' });
    expect(t.floor()).toEqual({ era: 0, expected: 1, position: 3 });
  });

  it('wraps counters at 2^16', () => {
    const t = new EventTracker();
    t.observe(0xffff, false);
    expect(t.floor()?.expected).toBe(0);
    expect(t.observe(0, false)).toEqual({ kind: 'next' });
    expect(t.floor()?.expected).toBe(1);
  });

  it('reports a gap with how many events were lost, and moves past it', () => {
    const t = new EventTracker();
    t.observe(10, false);
    expect(t.observe(14, false)).toEqual({ kind: 'gap', expected: 11, received: 14, lost: 3 });
    expect(t.floor()).toEqual({ era: 0, expected: 15, position: 5 });
    // Across the wrap.
    const w = new EventTracker();
    w.observe(0xfffe, false);
    expect(w.observe(1, false)).toEqual({ kind: 'gap', expected: 0xffff, received: 1, lost: 2 });
  });

  it('takes a counter just behind for a stale copy once; a second in a row is a new run of counters (a loss)', () => {
    const t = new EventTracker();
    t.observe(100, false);
    t.observe(101, false);
    expect(t.observe(90, false)).toEqual({ kind: 'duplicate' });
    // Still expecting 102: a stale copy changes nothing.
    expect(t.floor()).toEqual({ era: 0, expected: 102, position: 2 });
    const next = t.observe(91, false);
    expect(next).toEqual({ kind: 'gap', expected: 102, received: 91, lost: (91 - 102) & 0xffff });
    expect(t.floor()?.expected).toBe(92);
    // The run goes on as normal events.
    expect(t.observe(92, false)).toEqual({ kind: 'next' });
  });

  it('two stale copies that do not follow each other are both duplicates', () => {
    const t = new EventTracker();
    t.observe(50, false);
    expect(t.observe(40, false)).toEqual({ kind: 'duplicate' });
    expect(t.observe(45, false)).toEqual({ kind: 'duplicate' });
    expect(t.observe(51, false)).toEqual({ kind: 'next' });
    // A stale copy followed by the expected event resets the run.
    expect(t.observe(30, false)).toEqual({ kind: 'duplicate' });
    expect(t.observe(52, false)).toEqual({ kind: 'next' });
    expect(t.observe(31, false)).toEqual({ kind: 'duplicate' });
  });

  it('a counter 2^15 ahead is a jump, not a step back', () => {
    const t = new EventTracker();
    t.observe(0, false);
    expect(t.observe(0x8001, false)).toEqual({ kind: 'gap', expected: 1, received: 0x8001, lost: 0x8000 });
  });

  it('the first mark sets the sequence without a loss', () => {
    const t = new EventTracker();
    expect(t.mark(20)).toBe(0);
    expect(t.floor()).toEqual({ era: 0, expected: 20, position: 0 });
    expect(t.observe(20, false)).toEqual({ kind: 'next' });
  });

  it('a mark without a floor counts only a loss less than 2^15 ahead', () => {
    const t = new EventTracker();
    t.observe(5, false);
    expect(t.mark(6)).toBe(0);
    expect(t.mark(4)).toBe(0);
    expect(t.floor()).toEqual({ era: 0, expected: 6, position: 1 });
    expect(t.mark(9)).toBe(3);
    expect(t.floor()).toEqual({ era: 0, expected: 9, position: 4 });
    expect(t.mark(9 + 0x8000)).toBe(0);
  });

  it('a mark placed against its floor: ahead by 2^15 or more is a loss; at or below what arrived is none', () => {
    const t = new EventTracker();
    t.observe(0, false);
    const floor = t.floor()!;
    expect(t.mark(1, floor)).toBe(0);
    expect(t.mark(1 + 0x9000, floor)).toBe(0x9000);
    expect(t.floor()).toEqual({ era: 0, expected: 0x9001, position: 1 + 0x9000 });

    const u = new EventTracker();
    u.observe(10, false);
    const f = u.floor()!;
    u.observe(11, false);
    u.observe(12, false);
    // The events the mark covers arrived after the request went out.
    expect(u.mark(12, f)).toBe(0);
    expect(u.mark(13, f)).toBe(0);
    expect(u.mark(15, f)).toBe(2);
    expect(u.floor()).toEqual({ era: 0, expected: 15, position: 5 });
  });

  it('a floor from before a new session or a reset is ignored', () => {
    const t = new EventTracker();
    t.observe(3, false);
    const floor = t.floor()!;
    t.resetTo(3);
    expect(t.floor()).toEqual({ era: 1, expected: 3, position: 1 });
    // Judged without the floor: 2^15 ahead cannot be told from behind.
    expect(t.mark(3 + 0x9000, floor)).toBe(0);
    expect(t.mark(5, floor)).toBe(2);
    t.reset();
    expect(t.floor()).toBeUndefined();
    expect(t.mark(8, floor)).toBe(0);
    expect(t.floor()).toEqual({ era: 2, expected: 8, position: 3 });
  });

  it('after 2^16 events while a request was out, its mark counts as a loss unless it is the one expected', () => {
    const t = new EventTracker();
    t.observe(0, false);
    const floor = t.floor()!;
    for (let i = 1; i <= 0x1_0000; i++) t.observe(i & 0xffff, false);
    expect(t.floor()).toEqual({ era: 0, expected: 1, position: 0x1_0001 });
    expect(t.mark(1, floor)).toBe(0);
    expect(t.mark(4, floor)).toBe(3);
    expect(t.floor()).toEqual({ era: 0, expected: 4, position: 0x1_0004 });
    // The counter expected next, after a whole lap came meanwhile: nothing lost.
    const u = new EventTracker();
    u.observe(0, false);
    const g = u.floor()!;
    for (let i = 1; i <= 0x1_0000; i++) u.observe(i & 0xffff, false);
    u.observe(2, false);
    expect(u.mark(3, g)).toBe(0);
  });

  it('counter 0 just behind is a stale copy like any other', () => {
    const t = new EventTracker();
    t.observe(5, false);
    expect(t.observe(0, false)).toEqual({ kind: 'duplicate' });
  });

  it('places a mark against its floor however many events came before the floor', () => {
    const t = new EventTracker();
    for (let i = 0; i < 40_000; i++) t.observe(i, false);
    const floor = t.floor()!;
    t.observe(40_000, false);
    // Every event the mark covers has arrived: none lost (it is no lap ahead).
    expect(t.mark(40_000, floor)).toBe(0);
    expect(t.mark(40_003, floor)).toBe(2);
  });

  it('a stale run is forgotten by a new session or a reset', () => {
    const t = new EventTracker();
    t.observe(100, false);
    expect(t.observe(90, false)).toEqual({ kind: 'duplicate' });
    t.resetTo(101);
    expect(t.observe(91, false)).toEqual({ kind: 'duplicate' });
    t.reset();
    expect(t.observe(92, false)).toEqual({ kind: 'next' });
    expect(t.observe(80, false)).toEqual({ kind: 'duplicate' });
  });
});
