/**
 * A clock that moves only when a test says so, implementing the driver's
 * injectable `Timers`, so deadlines can be tested without waiting.
 */

import type { TimerId, Timers } from '../transport/timers.ts';

interface Due {
  id: number;
  at: number;
  callback: () => void;
}

export class ManualTimers implements Timers {
  private time = 0;
  private nextId = 1;
  private due: Due[] = [];

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): TimerId {
    const id = this.nextId++;
    this.due.push({ id, at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.due = this.due.filter((d) => d.id !== id);
  }

  get pending(): number {
    return this.due.length;
  }

  /** Moves time forward, firing due callbacks in time order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      this.due.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.due[0];
      if (!next || next.at > end) break;
      this.due.shift();
      this.time = next.at;
      next.callback();
    }
    this.time = end;
    await settle();
  }
}

/** Lets queued promise callbacks and stream reads run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setTimeout(r, 0));
}
