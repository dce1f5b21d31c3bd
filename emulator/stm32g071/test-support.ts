/**
 * Test doubles for the peripheral tests: a virtual clock that fires its
 * callbacks in due order when told to advance, a bus over plain memory with
 * holes that raise bus errors, and an interrupt line that records its level.
 * Not used by the chip itself.
 */
import { type AccessSize, type Bus, BusError, type MemoryMappedDevice } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { InterruptLine } from '../core/irq.ts';

interface Timer extends TimerHandle {
  readonly dueNs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class TestClock implements Clock {
  nowNs = 0;
  private timers: Timer[] = [];
  private seq = 0;

  schedule(delayNs: number, callback: () => void): TimerHandle {
    const timer: Timer = {
      dueNs: this.nowNs + Math.max(0, delayNs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return timer;
  }

  cancel(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
    this.timers = this.timers.filter((t) => t !== handle);
  }

  /** Due time of the earliest pending callback, or undefined. */
  nextDueNs(): number | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.seq < best.seq)) best = t;
    return best?.dueNs;
  }

  /** Fire every callback due up to `ns` in order, then set the time to `ns`. */
  advanceTo(ns: number): void {
    for (;;) {
      let best: Timer | undefined;
      for (const t of this.timers) {
        if (t.dueNs > ns) continue;
        if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.seq < best.seq)) best = t;
      }
      if (!best) break;
      this.timers = this.timers.filter((t) => t !== best);
      this.nowNs = best.dueNs;
      best.callback();
    }
    if (ns > this.nowNs) this.nowNs = ns;
  }

  advanceBy(ns: number): void {
    this.advanceTo(this.nowNs + ns);
  }

  /** Run until nothing is scheduled (bounded, so a runaway model fails the test). */
  runUntilIdle(maxEvents = 1_000_000): void {
    for (let i = 0; i < maxEvents; i++) {
      const due = this.nextDueNs();
      if (due === undefined) return;
      this.advanceTo(due);
    }
    throw new Error('TestClock: still busy after maxEvents');
  }
}

export class RecordingLine implements InterruptLine {
  level = false;
  rises = 0;
  set(level: boolean): void {
    if (level && !this.level) this.rises++;
    this.level = level;
  }
}

/** A little-endian RAM at `base` plus devices at fixed bases; anything else is a bus error. */
export class TestBus implements Bus {
  readonly ram: Uint8Array;
  private readonly view: DataView;
  private readonly devices: { base: number; size: number; device: MemoryMappedDevice }[] = [];

  constructor(
    readonly ramBase = 0x2000_0000,
    ramSize = 0x9000,
  ) {
    this.ram = new Uint8Array(ramSize);
    this.view = new DataView(this.ram.buffer);
  }

  map(base: number, size: number, device: MemoryMappedDevice): void {
    this.devices.push({ base, size, device });
  }

  read(address: number, size: AccessSize): number {
    const off = address - this.ramBase;
    if (off >= 0 && off + size <= this.ram.length) {
      return size === 1
        ? this.view.getUint8(off)
        : size === 2
          ? this.view.getUint16(off, true)
          : this.view.getUint32(off, true);
    }
    for (const d of this.devices)
      if (address >= d.base && address < d.base + d.size) return d.device.read(address - d.base, size);
    throw new BusError(address, false, size);
  }

  write(address: number, value: number, size: AccessSize): void {
    const off = address - this.ramBase;
    if (off >= 0 && off + size <= this.ram.length) {
      if (size === 1) this.view.setUint8(off, value & 0xff);
      else if (size === 2) this.view.setUint16(off, value & 0xffff, true);
      else this.view.setUint32(off, value >>> 0, true);
      return;
    }
    for (const d of this.devices) {
      if (address >= d.base && address < d.base + d.size) {
        d.device.write(address - d.base, value, size);
        return;
      }
    }
    throw new BusError(address, true, size);
  }
}
