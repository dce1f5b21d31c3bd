import { describe, expect, it } from 'vitest';
import { openOnFake } from '../test-support/link-harness.ts';
import { ManualTimers, settle } from '../test-support/manual-timers.ts';
import type { LinkNotification } from './link.ts';

const dmaTc = { event: 'dma' as const, channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 };

/** Manual timers that remember every delay asked for. */
class RecordingTimers extends ManualTimers {
  readonly delays: number[] = [];
  override setTimeout(callback: () => void, ms: number) {
    this.delays.push(ms);
    return super.setTimeout(callback, ms);
  }
}

describe('Link: time always moves forward', () => {
  it('never re-arms the quiet timer of a partial frame shorter than a millisecond', async () => {
    const timers = new RecordingTimers();
    const { link, board } = await openOnFake({ link: { timers, partialFrameTimeoutMs: 20 } });
    const seen: LinkNotification[] = [];
    link.subscribe((n) => seen.push(n));
    const frame = board.encodeEvent(dmaTc);
    board.sendRaw(frame.subarray(0, 4));
    await settle();
    // More of the frame a hair later: at the deadline the line has been quiet
    // for a hair less than the timeout.
    await timers.advance(1e-9);
    board.sendRaw(frame.subarray(4, 8));
    await settle();
    timers.delays.length = 0;
    await timers.advance(20);
    expect(timers.delays.length).toBeGreaterThan(0);
    expect(Math.min(...timers.delays)).toBeGreaterThanOrEqual(1);
    expect(seen).toEqual([]);
    // Given up once the floor has passed, not long after.
    await timers.advance(1);
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    await link.close();
  });
});
