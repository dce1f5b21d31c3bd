/**
 * What the host knows of the board's events (PROTOCOL.md §1, §3): BOOT is
 * counter 0 and every later event one more, mod 2^16; every reply carries
 * the event mark, below which every event has left the board. A gap in
 * the counters, or a mark above the next counter the host expects, means
 * events were lost (dropped by the board or damaged on the line), and
 * whoever depends on them must re-read the board's state.
 */

export type CounterVerdict =
  | { kind: 'next' }
  /** Already seen, or declared lost by a mark before it came: it is stale. */
  | { kind: 'duplicate' }
  | { kind: 'gap'; expected: number; received: number; lost: number };

/** `a` is before `b` in mod-2^16 order (within half the range). */
function before(a: number, b: number): boolean {
  const d = (b - a) & 0xffff;
  return d !== 0 && d < 0x8000;
}

export class EventTracker {
  /** The counter the next event should carry; undefined until the first event or mark. */
  private expected: number | undefined;

  /** Judges an event's counter and advances. `boot` restarts the sequence at 0. */
  observe(counter: number, boot: boolean): CounterVerdict {
    const expected = this.expected;
    if (boot || expected === undefined) {
      this.expected = (counter + 1) & 0xffff;
      return { kind: 'next' };
    }
    if (counter === expected) {
      this.expected = (counter + 1) & 0xffff;
      return { kind: 'next' };
    }
    if (before(counter, expected)) return { kind: 'duplicate' };
    this.expected = (counter + 1) & 0xffff;
    return { kind: 'gap', expected, received: counter, lost: (counter - expected) & 0xffff };
  }

  /**
   * A reply's event mark: every event below it has been sent. Returns how
   * many of them never arrived (0 when none), and expects the mark next.
   */
  mark(mark: number): number {
    const expected = this.expected;
    if (expected === undefined) {
      this.expected = mark;
      return 0;
    }
    if (!before(expected, mark)) return 0;
    this.expected = mark;
    return (mark - expected) & 0xffff;
  }

  /** A new session: events before `mark` belong to the past. */
  resetTo(mark: number): void {
    this.expected = mark;
  }

  /** Forget the sequence (after a reset the next event is BOOT again). */
  reset(): void {
    this.expected = undefined;
  }
}
