/**
 * What the host knows of the board's events (PROTOCOL.md §1, §3): BOOT is
 * counter 0 and every later event one more, mod 2^16; every reply carries
 * the event mark, below which every event has left the board. A gap in
 * the counters, or a mark above the next counter the host expects, means
 * events were lost (dropped by the board or damaged on the line), and
 * whoever depends on them must re-read the board's state.
 *
 * Counters compare mod 2^16, so a jump of 2^15 or more cannot be told from
 * a step back by its value alone. Two rules keep such a jump from going
 * unnoticed: a reply's mark is placed against what the host had received
 * when it sent the request (the mark cannot be below that: those events
 * left the board before the request arrived), which makes it exact unless
 * 2^16 events came meanwhile, and then it counts as a loss; and a counter
 * that looks behind is a stale copy only once: a second one right after it
 * shows a new run of counters, which is a loss too, never a run of
 * duplicates.
 */

export type CounterVerdict =
  | { kind: 'next' }
  /** Already seen, or declared lost by a mark before it came: it is stale. */
  | { kind: 'duplicate' }
  | { kind: 'gap'; expected: number; received: number; lost: number };

/** Where the event sequence stood when a request was sent (see `EventTracker.mark`). */
export interface MarkFloor {
  /** The tracker's epoch of knowledge: a reset or a new session makes older floors void. */
  readonly era: number;
  readonly expected: number;
  /** Events counted since the tracker was made, without wrapping. */
  readonly position: number;
}

/** `a` is before `b` in mod-2^16 order (within half the range). */
function before(a: number, b: number): boolean {
  const d = (b - a) & 0xffff;
  return d !== 0 && d < 0x8000;
}

const COUNTERS = 0x1_0000;

export class EventTracker {
  /** The counter the next event should carry; undefined until the first event or mark. */
  private expected: number | undefined;
  /** Events passed since the tracker was made (received, or declared lost), unwrapped. */
  private position = 0;
  private era = 0;
  /** The last counter taken for a stale copy, if the event before was one. */
  private lastStale: number | undefined;

  /** Judges an event's counter and advances. `boot` restarts the sequence at 0. */
  observe(counter: number, boot: boolean): CounterVerdict {
    const expected = this.expected;
    const lastStale = this.lastStale;
    this.lastStale = undefined;
    if (boot || expected === undefined) {
      this.advanceTo((counter + 1) & 0xffff, 1);
      return { kind: 'next' };
    }
    if (counter === expected) {
      this.advanceTo((counter + 1) & 0xffff, 1);
      return { kind: 'next' };
    }
    const ahead = (counter - expected) & 0xffff;
    const continuesStale = lastStale !== undefined && counter === ((lastStale + 1) & 0xffff);
    if (before(counter, expected) && !continuesStale) {
      this.lastStale = counter;
      return { kind: 'duplicate' };
    }
    // Ahead, or the second of a run that only looked behind: a jump.
    this.advanceTo((counter + 1) & 0xffff, ahead + 1);
    return { kind: 'gap', expected, received: counter, lost: ahead };
  }

  /** Where the sequence stands now: give it back to `mark` with the reply to a request sent now. */
  floor(): MarkFloor | undefined {
    const expected = this.expected;
    if (expected === undefined) return undefined;
    return { era: this.era, expected, position: this.position };
  }

  /**
   * A reply's event mark: every event below it has been sent. Returns how
   * many of them never arrived (0 when none), and expects the mark next.
   * `floor` is where the sequence stood when the request was first sent:
   * with it, a mark 2^15 or more ahead is recognised (and one more than
   * 2^16 events ahead of it counts as a loss); without it (a NAK, which
   * answers no request in particular) only a mark less than 2^15 ahead
   * counts.
   */
  mark(mark: number, floor?: MarkFloor): number {
    const expected = this.expected;
    if (expected === undefined) {
      this.expected = mark;
      return 0;
    }
    if (floor === undefined || floor.era !== this.era) {
      if (!before(expected, mark)) return 0;
      const lost = (mark - expected) & 0xffff;
      this.advanceTo(mark, lost);
      return lost;
    }
    const markPosition = floor.position + ((mark - floor.expected) & 0xffff);
    if (this.position - floor.position >= COUNTERS) {
      // 2^16 events came while the request was out: the mark cannot be placed.
      if (mark === expected) return 0;
      const lost = (mark - expected) & 0xffff || COUNTERS;
      this.advanceTo(mark, lost);
      return lost;
    }
    if (markPosition <= this.position) return 0;
    const lost = markPosition - this.position;
    this.advanceTo(mark, lost);
    return lost;
  }

  /** A new session: events before `mark` belong to the past. */
  resetTo(mark: number): void {
    this.expected = mark;
    this.lastStale = undefined;
    this.era++;
  }

  /** Forget the sequence (after a reset the next event is BOOT again). */
  reset(): void {
    this.expected = undefined;
    this.lastStale = undefined;
    this.era++;
  }

  private advanceTo(expected: number, by: number): void {
    this.expected = expected;
    this.position += by;
  }
}
