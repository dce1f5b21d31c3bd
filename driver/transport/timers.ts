/**
 * The time source of everything above the transport. Injectable so tests
 * (and the virtual board, whose time is not the wall clock) can drive
 * deadlines and retransmissions deterministically.
 */
export interface Timers {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** Opaque: whatever the implementation's `setTimeout` returns. */
export type TimerId = unknown;

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  // The id came from our own setTimeout; the global accepts it in Node and browsers.
  clearTimeout: (id) => clearTimeout(id as Parameters<typeof clearTimeout>[0]),
};
