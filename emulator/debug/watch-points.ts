/**
 * Breakpoints and watchpoints, and the core observer that checks them.
 * Like the Cortex-M0+'s BPU and DWT, a breakpoint stops before its
 * instruction runs and a watchpoint after the accessing instruction has
 * completed; accesses a DMA makes through the bus are watched too.
 */
import type { AccessSize } from '../core/bus.ts';
import type { CpuObserver } from '../core/cpu.ts';
import type { StopReason, WatchKind } from './target.ts';

interface Watch {
  readonly kind: WatchKind;
  readonly address: number;
  readonly length: number;
}

export class WatchPoints implements CpuObserver {
  private readonly breakpoints = new Set<number>();
  private watches: Watch[] = [];
  private hit: StopReason | null = null;
  /** The pc the core resumes from: its breakpoint is not taken again on the way out. */
  private resumeFrom = -1;
  /** Set while the debugger itself reads or writes: its accesses are not watched. */
  quiet = false;

  get isEmpty(): boolean {
    return this.breakpoints.size === 0 && this.watches.length === 0;
  }

  get hasWatches(): boolean {
    return this.watches.length > 0;
  }

  addBreakpoint(address: number): void {
    this.breakpoints.add(address & ~1);
  }

  removeBreakpoint(address: number): void {
    this.breakpoints.delete(address & ~1);
  }

  addWatch(kind: WatchKind, address: number, length: number): void {
    this.watches.push({ kind, address: address >>> 0, length: Math.max(1, length) });
  }

  removeWatch(kind: WatchKind, address: number, length: number): void {
    const i = this.watches.findIndex(
      (w) => w.kind === kind && w.address === address >>> 0 && w.length === Math.max(1, length),
    );
    if (i >= 0) this.watches.splice(i, 1);
  }

  clear(): void {
    this.breakpoints.clear();
    this.watches = [];
    this.hit = null;
  }

  /** The core resumes at `pc`: skip a breakpoint there once, and forget an old hit. */
  resumingAt(pc: number): void {
    this.resumeFrom = pc;
    this.hit = null;
  }

  /** Why the core stopped, once (consumed). */
  takeHit(): StopReason | null {
    const h = this.hit;
    this.hit = null;
    return h;
  }

  shouldStop(pc: number): boolean {
    if (this.hit !== null) return true;
    const skip = pc === this.resumeFrom;
    this.resumeFrom = -1;
    if (!skip && this.breakpoints.has(pc)) {
      this.hit = { kind: 'breakpoint' };
      return true;
    }
    return false;
  }

  /** An access by the core or over the bus. */
  access = (address: number, size: AccessSize, isWrite: boolean): void => {
    if (this.quiet || this.hit !== null) return;
    const a = address >>> 0;
    for (const w of this.watches) {
      if (a + size <= w.address || a >= w.address + w.length) continue;
      if (w.kind === 'write' && !isWrite) continue;
      if (w.kind === 'read' && isWrite) continue;
      this.hit = { kind: 'watch', watch: w.kind, address: w.address };
      return;
    }
  };
}
