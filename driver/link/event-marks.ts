/**
 * The board's events as the link receives them, and the replies' event
 * marks (PROTOCOL.md §3): duplicates are dropped, and events that never
 * came, from a gap in the counters or from a mark, are reported as
 * `events-lost` so whoever depends on them re-reads the board's state.
 */

import type { BoardEvent } from '../protocol/index.ts';
import { EventTracker, type MarkFloor } from './event-tracker.ts';
import type { LinkNotification, LinkStats } from './link-types.ts';

export class EventMarks {
  private readonly tracker = new EventTracker();

  constructor(
    private readonly stats: LinkStats,
    private readonly notify: (n: LinkNotification) => void,
  ) {}

  /** Where the sequence stands: a request first sent now has its reply's mark placed against it. */
  floor(): MarkFloor | undefined {
    return this.tracker.floor();
  }

  /** A reply's (or NAK's) event mark: the events below it that never came are lost. */
  noteMark(mark: number, floor?: MarkFloor): void {
    const lost = this.tracker.mark(mark, floor);
    if (lost === 0) return;
    this.stats.eventsLost += lost;
    this.notify({ kind: 'events-lost', expected: (mark - lost) & 0xffff, received: mark, lost });
  }

  /** An event arrived: reports the events lost before it, then hands it on unless it is a duplicate. */
  received(event: BoardEvent): void {
    const verdict = this.tracker.observe(event.counter, event.event === 'boot');
    if (verdict.kind === 'duplicate') {
      this.stats.duplicateEvents++;
      return;
    }
    if (verdict.kind === 'gap') {
      this.stats.eventsLost += verdict.lost;
      this.notify({
        kind: 'events-lost',
        expected: verdict.expected,
        received: verdict.received,
        lost: verdict.lost,
      });
    }
    this.notify({ kind: 'event', event });
  }

  /** A new session: events before `mark` belong to the past. */
  sessionOpened(mark: number): void {
    this.tracker.resetTo(mark);
  }

  /** The board reset: the next event is BOOT again. */
  boardReset(): void {
    this.tracker.reset();
  }
}
