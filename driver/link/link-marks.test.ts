import { describe, expect, it } from 'vitest';
import { FAKE } from '../test-support/fake-board.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import { settle } from '../test-support/manual-timers.ts';
import { EventTracker } from './event-tracker.ts';
import type { LinkNotification } from './link.ts';

const dmaTc = { event: 'dma' as const, channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 };

describe('EventTracker: a jump of half the counter range or more', () => {
  for (const jump of [0x8000, 0x8001, 0xc000, 0xffff]) {
    it(`a mark ${jump} ahead counts as a loss and later events are not taken for duplicates`, () => {
      const t = new EventTracker();
      t.observe(0, true);
      t.observe(1, false);
      const mark = (2 + jump) & 0xffff;
      expect(t.mark(mark)).toBeGreaterThan(0);
      expect(t.observe(mark, false)).toEqual({ kind: 'next' });
      expect(t.observe((mark + 1) & 0xffff, false)).toEqual({ kind: 'next' });
    });
  }

  it('an event 0x8000 ahead of the expected counter is a gap, and the ones after it are next', () => {
    const t = new EventTracker();
    t.observe(0, true);
    const verdict = t.observe(0x8001, false);
    expect(verdict.kind).toBe('gap');
    expect(t.observe(0x8002, false)).toEqual({ kind: 'next' });
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
