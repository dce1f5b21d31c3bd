/**
 * A discrete-event clock: virtual time only moves when `advanceTo` is called,
 * and callbacks fire in due-time order (FIFO among equal due times). Its
 * smallest step is one tick (1 ns): a callback is never due at or before the
 * time it was scheduled, so a callback that keeps scheduling itself cannot
 * hold time still (a delay below a nanosecond's float64 resolution, late in
 * a run, would otherwise fire at once, forever).
 */
import type { Clock, TimerHandle } from './clock.ts';

/**
 * Where a callback stands in the firing order: its due time, then the
 * virtual time it was scheduled at, then the scheduling order. Scheduling
 * time never goes backwards, so for callbacks scheduled as time goes this
 * is FIFO among equal due times; it also places a callback restored later
 * with the time it was first scheduled at (see `scheduleAt`).
 */
export interface TimerKey {
  readonly dueNs: number;
  readonly schedNs: number;
  readonly seq: number;
}

/** Whether `a` fires before `b`. */
export function keyBefore(a: TimerKey, b: TimerKey): boolean {
  return (
    a.dueNs < b.dueNs ||
    (a.dueNs === b.dueNs && (a.schedNs < b.schedNs || (a.schedNs === b.schedNs && a.seq < b.seq)))
  );
}

class Timer implements TimerHandle, TimerKey {
  /** Position in the heap, or -1 once fired or cancelled. */
  index = -1;
  constructor(
    readonly dueNs: number,
    readonly schedNs: number,
    readonly seq: number,
    readonly callback: () => void,
  ) {}
}

const before: (a: Timer, b: Timer) => boolean = keyBefore;

export class VirtualClock implements Clock {
  /** The smallest step of virtual time, ns. */
  static readonly TICK_NS = 1;
  private now = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];
  private current: TimerKey | null = null;
  /**
   * Called when a newly scheduled callback becomes the earliest one, so a
   * CPU that runs ahead until the next event can shorten its stride.
   */
  onEarliestChange: ((dueNs: number) => void) | null = null;

  constructor(startNs = 0) {
    this.now = startNs;
  }

  get nowNs(): number {
    return this.now;
  }

  /** Number of callbacks waiting. */
  get pending(): number {
    return this.heap.length;
  }

  schedule(delayNs: number, callback: () => void): TimerHandle {
    if (!(delayNs >= 0) || !Number.isFinite(delayNs)) {
      throw new RangeError(`schedule: delay must be a finite number >= 0, got ${delayNs}`);
    }
    const due = Math.max(this.now + delayNs, this.now + VirtualClock.TICK_NS);
    return this.add(new Timer(due, this.now, this.seq++, callback));
  }

  /**
   * Schedules `callback` at exactly `key`'s place in the firing order: a
   * callback some other model worked out the time of (due no earlier than
   * now), or one taken off the clock and put back (see `keyOf`), which
   * keeps its place among the others.
   */
  scheduleAt(key: TimerKey, callback: () => void): TimerHandle {
    if (!(key.dueNs >= this.now) || !Number.isFinite(key.dueNs) || !(key.schedNs <= key.dueNs)) {
      throw new RangeError(
        `scheduleAt: due ${key.dueNs} is before now (${this.now}) or not after its scheduling`,
      );
    }
    return this.add(new Timer(key.dueNs, key.schedNs, key.seq, callback));
  }

  /** A fresh scheduling order number, for a callback another model keeps and may later `scheduleAt`. */
  allocateSeq(): number {
    return this.seq++;
  }

  /** The place in the firing order of a callback still waiting, or undefined (fired, cancelled, not this clock's). */
  keyOf(handle: TimerHandle): TimerKey | undefined {
    return handle instanceof Timer && handle.index >= 0 && this.heap[handle.index] === handle
      ? handle
      : undefined;
  }

  /** The place of the callback running now, or null outside callbacks. */
  get firing(): TimerKey | null {
    return this.current;
  }

  cancel(handle: TimerHandle): void {
    if (!(handle instanceof Timer) || handle.index < 0) return;
    if (this.heap[handle.index] !== handle) return;
    this.removeAt(handle.index);
  }

  /** Due time of the earliest callback, or Infinity when none is waiting. */
  nextDueNs(): number {
    const head = this.heap[0];
    return head === undefined ? Infinity : head.dueNs;
  }

  /**
   * Fire, in order, every callback due at or before `ns` (including ones that
   * callbacks schedule within that window), then set the time to `ns`. While a
   * callback runs, `nowNs` is its own due time. Time never moves backwards.
   */
  advanceTo(ns: number): void {
    for (;;) {
      const head = this.heap[0];
      if (head === undefined || head.dueNs > ns) break;
      this.removeAt(0);
      if (head.dueNs > this.now) this.now = head.dueNs;
      const outer = this.current;
      this.current = head;
      try {
        head.callback();
      } finally {
        this.current = outer;
      }
    }
    if (ns > this.now) this.now = ns;
  }

  /** Advance by `deltaNs` (see `advanceTo`). */
  advanceBy(deltaNs: number): void {
    this.advanceTo(this.now + deltaNs);
  }

  private add(timer: Timer): Timer {
    this.push(timer);
    if (timer.index === 0) this.onEarliestChange?.(timer.dueNs);
    return timer;
  }

  private push(timer: Timer): void {
    timer.index = this.heap.length;
    this.heap.push(timer);
    this.siftUp(timer.index);
  }

  private removeAt(i: number): void {
    const heap = this.heap;
    const removed = heap[i]!;
    const last = heap.pop()!;
    removed.index = -1;
    if (last !== removed) {
      heap[i] = last;
      last.index = i;
      this.siftDown(i);
      this.siftUp(last.index);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const t = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (!before(t, parent)) break;
      heap[i] = parent;
      parent.index = i;
      i = p;
    }
    heap[i] = t;
    t.index = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const t = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const rr = l + 1;
      let c = l;
      if (rr < n && before(heap[rr]!, heap[l]!)) c = rr;
      const child = heap[c]!;
      if (!before(child, t)) break;
      heap[i] = child;
      child.index = i;
      i = c;
    }
    heap[i] = t;
    t.index = i;
  }
}
