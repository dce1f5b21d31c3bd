/**
 * A clock that moves only when a test says so (the driver's injectable
 * `Timers`), for tests whose transport runs on promise jobs alone: one
 * macrotask lets everything pending run, so moving time costs next to
 * nothing. (ManualTimers waits out twenty, for transports that use timers
 * of their own.)
 */

import type { TimerId, Timers } from '../transport/timers.ts';

/** Lets every pending promise job (stream reads and writes included) run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A clock that moves only when told; every delay asked for is kept in `delays`. */
export class StepClock implements Timers {
  readonly delays: number[] = [];
  private time = 0;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.delays.push(ms);
    this.due.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.due.delete(id as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.due.size;
  }

  /** Moves time forward `ms`, firing what falls due in time order, letting the line catch up after each. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await flush();
      let nextId: number | undefined;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, d] of this.due) {
        if (d.at <= end && (next === undefined || d.at < next.at)) {
          next = d;
          nextId = id;
        }
      }
      if (next === undefined || nextId === undefined) break;
      this.due.delete(nextId);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
    await flush();
  }
}
