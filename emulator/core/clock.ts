/**
 * Virtual time. Time is kept in nanoseconds as a float64 (exact for the
 * binary fractions that clock periods of 2^k · 1 MHz give, and good for
 * months of virtual time). Nothing here reads the host's clock.
 */
export interface Clock {
  /** Current virtual time in nanoseconds. */
  readonly nowNs: number;
  /** Run `callback` when virtual time reaches `nowNs + delayNs`, and never sooner than one tick from now. */
  schedule(delayNs: number, callback: () => void): TimerHandle;
  /** Cancel a scheduled callback; cancelling a fired or cancelled one is a no-op. */
  cancel(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly dueNs: number;
}
