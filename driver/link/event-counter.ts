/**
 * Tracks the board's event counter (PROTOCOL.md §1, §3): BOOT is 0 and
 * every later event is one more, mod 2^16. The board drops events when its
 * queue is full; the gap is how the host finds out it must re-read state.
 */

export type CounterVerdict =
  | { kind: 'next' }
  | { kind: 'duplicate' }
  | { kind: 'gap'; expected: number; received: number; lost: number };

export class EventCounter {
  private last: number | undefined;

  /** Judges an event's counter and advances. `boot` restarts the sequence at 0. */
  observe(counter: number, boot: boolean): CounterVerdict {
    const last = this.last;
    this.last = counter;
    if (boot || last === undefined) return { kind: 'next' };
    if (counter === last) return { kind: 'duplicate' };
    const expected = (last + 1) & 0xffff;
    if (counter === expected) return { kind: 'next' };
    return { kind: 'gap', expected, received: counter, lost: (counter - expected) & 0xffff };
  }

  /** Forget the sequence (after a reset the next event is BOOT again). */
  reset(): void {
    this.last = undefined;
  }
}
