/**
 * A frame begun and never ended by its delimiter (the delimiter was lost):
 * once the line has been quiet long enough, it is given up as damaged, so
 * the event it may have been is reported lost at once, not when the next
 * frame arrives.
 */

import type { TimerId, Timers } from '../transport/timers.ts';

/** The shortest delay the watch re-arms its timer with, ms. */
export const MIN_REARM_MS = 1;

/** Default quiet time: 16 character times at `baud`, at least 20 ms (USB-serial adapters deliver in bursts). */
export function defaultPartialFrameTimeoutMs(baud: number | undefined): number {
  const rate = baud !== undefined && baud > 0 ? baud : 115_200;
  return Math.max(20, Math.ceil((16 * 10 * 1000) / rate));
}

export class PartialFrameWatch {
  private lastByteAt = 0;
  private timer: TimerId | undefined;

  constructor(
    private readonly timers: Timers,
    /** The quiet time after which a partial frame is given up, ms (read at each check). */
    private readonly timeoutMs: () => number,
    /** Whether a frame is still partial (and the link still running). */
    private readonly partial: () => boolean,
    private readonly giveUp: () => void,
  ) {}

  /** Bytes arrived: arms (or keeps) the timer while a frame is partial. */
  bytesArrived(): void {
    if (!this.partial()) return;
    this.lastByteAt = this.timers.now();
    if (this.timer === undefined) this.arm(this.timeoutMs());
  }

  stop(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      if (!this.partial()) return;
      const quiet = this.timers.now() - this.lastByteAt;
      const timeout = this.timeoutMs();
      if (quiet < timeout) {
        // Never shorter than the floor: a difference of two clock readings can
        // come out below the clock's resolution, and a timer that fires at
        // once, forever, would hold a virtual clock still.
        this.arm(Math.max(MIN_REARM_MS, timeout - quiet));
        return;
      }
      this.giveUp();
    }, ms);
  }
}
