import { describe, expect, it } from 'vitest';
import { FAKE } from '../test-support/fake-board.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import { settle } from '../test-support/manual-timers.ts';
import { EventTracker } from './event-tracker.ts';
import type { LinkNotification } from './link.ts';

const dmaTc = { event: 'dma' as const, channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 };

describe('EventTracker: a jump of half the counter range or more', () => {
  for (const jump of [0x8000, 0x8001, 0xc000, 0xffff]) {
    it(`a mark ${jump} ahead of where the request was sent counts as a loss; later events are next`, () => {
      const t = new EventTracker();
      t.observe(0, true);
      t.observe(1, false);
      const floor = t.floor(); // the request goes out here
      const mark = (2 + jump) & 0xffff;
      expect(t.mark(mark, floor)).toBe(jump);
      expect(t.observe(mark, false)).toEqual({ kind: 'next' });
      expect(t.observe((mark + 1) & 0xffff, false)).toEqual({ kind: 'next' });
    });
  }

  it("a cached reply's older mark is no loss", () => {
    const t = new EventTracker();
    t.observe(0, true);
    const floor = t.floor();
    for (let c = 1; c < 10; c++) expect(t.observe(c, false)).toEqual({ kind: 'next' });
    expect(t.mark(4, floor)).toBe(0);
    expect(t.observe(10, false)).toEqual({ kind: 'next' });
  });

  it('counts more than 2^16 events while a request was out as a loss', () => {
    const t = new EventTracker();
    t.observe(0, true);
    const floor = t.floor();
    for (let c = 1; c <= 0x1_0000 + 5; c++) t.observe(c & 0xffff, false);
    expect(t.mark(3, floor)).toBeGreaterThan(0);
    expect(t.observe(3, false)).toEqual({ kind: 'next' });
  });

  it('takes one event that looks behind for a stale copy, two in a row for a jump', () => {
    const t = new EventTracker();
    t.observe(0, true);
    const far = (1 + 0x9000) & 0xffff;
    expect(t.observe(far, false)).toEqual({ kind: 'duplicate' });
    expect(t.observe(far + 1, false)).toMatchObject({ kind: 'gap', received: far + 1 });
    expect(t.observe(far + 2, false)).toEqual({ kind: 'next' });
  });

  it('a real stale copy stays a duplicate and the sequence goes on', () => {
    const t = new EventTracker();
    t.observe(0, true);
    t.observe(1, false);
    t.observe(2, false);
    expect(t.observe(1, false)).toEqual({ kind: 'duplicate' });
    expect(t.observe(3, false)).toEqual({ kind: 'next' });
  });
});

describe('Link: an outage that dropped 2^15 events or more', () => {
  it('reports the loss at the next reply and delivers every later event', async () => {
    const { link, board } = await openOnFake();
    const seen: LinkNotification[] = [];
    link.subscribe((n) => seen.push(n));
    board.emitEvent(dmaTc);
    await settle();
    // The board raised 40,000 events the host never got.
    board.emitEvent(dmaTc, { lose: true, skipCounters: 40_000 });
    await link.request({ command: 'reg-read', address: FAKE.CCR1 });
    const lost = seen.filter((n) => n.kind === 'events-lost');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ kind: 'events-lost' });
    expect((lost[0] as { lost: number }).lost).toBeGreaterThan(0);
    seen.length = 0;
    board.emitEvent(dmaTc);
    board.emitEvent(dmaTc);
    await settle();
    expect(seen.map((n) => n.kind)).toEqual(['event', 'event']);
    expect(link.stats.duplicateEvents).toBe(0);
    await link.close();
  });
});
