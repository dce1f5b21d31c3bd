/**
 * Exception bookkeeping for ARMv6-M (DDI 0419 §B1.5): which exceptions are
 * pending and active, their priorities, and the NVIC's interrupt lines.
 * Stacking and unstacking live in the CPU; this file only decides.
 */
import type { InterruptLine } from './irq.ts';

export const Exc = {
  RESET: 1,
  NMI: 2,
  HARD_FAULT: 3,
  SVCALL: 11,
  PENDSV: 14,
  SYSTICK: 15,
  IRQ0: 16,
} as const;

export const IRQ_COUNT = 32;

/** Told of interrupt line levels and of handlers starting and ending. */
export interface NvicObserver {
  line(irq: number, high: boolean): void;
  active(exception: number, on: boolean): void;
}
/** Execution priority with nothing active and PRIMASK clear (higher than any real one). */
const BASE_PRIORITY = 256;

export class ExceptionController {
  /** NVIC registers, one bit per IRQ. */
  enabled = 0;
  pending = 0;
  /** Current level of each interrupt line. */
  private level = 0;
  /** IPR: priority byte per IRQ, only bits [7:6] implemented (§B3.4.7). */
  readonly irqPriority = new Uint8Array(IRQ_COUNT);
  svcPriority = 0;
  pendSvPriority = 0;
  sysTickPriority = 0;
  nmiPending = false;
  pendSvPending = false;
  sysTickPending = false;
  /** Active flags by exception number, and how many are set. */
  readonly active = new Uint8Array(16 + IRQ_COUNT);
  activeCount = 0;
  /** SCR.SEVONPEND and the WFE event register it feeds. */
  sevOnPend = false;
  eventRegister = false;
  /** Called whenever something changes that may let an exception be taken. */
  onChange: () => void = () => {};
  /** A signal trace's view of the interrupt lines and handlers (emulator/debug/trace); null: none. */
  observer: NvicObserver | null = null;

  private readonly lines: InterruptLine[] = [];

  /** The input of external interrupt `n` (0..31), level-sensitive. */
  line(n: number): InterruptLine {
    if (!Number.isInteger(n) || n < 0 || n >= IRQ_COUNT) throw new RangeError(`no IRQ ${n}`);
    let line = this.lines[n];
    if (line === undefined) {
      const bit = (1 << n) >>> 0;
      line = {
        set: (high: boolean) => {
          const wasHigh = (this.level & bit) !== 0;
          if (high === wasHigh) return;
          if (high) {
            this.level = (this.level | bit) >>> 0;
            this.setPending(bit);
          } else {
            this.level = (this.level & ~bit) >>> 0;
          }
          this.observer?.line(n, high);
        },
      };
      this.lines[n] = line;
    }
    return line;
  }

  /** Mark IRQs pending (ISPR write, or a line going high). */
  setPending(bits: number): void {
    const fresh = bits & ~this.pending;
    this.pending = (this.pending | bits) >>> 0;
    if (fresh !== 0) {
      if (this.sevOnPend) this.eventRegister = true;
      this.onChange();
    }
  }

  /** ICPR write. A line still held high keeps its interrupt pending (§B3.4.1). */
  clearPending(bits: number): void {
    this.pending = (this.pending & ~(bits & ~this.level)) >>> 0;
  }

  setEnabled(bits: number): void {
    this.enabled = (this.enabled | bits) >>> 0;
    this.onChange();
  }

  clearEnabled(bits: number): void {
    this.enabled = (this.enabled & ~bits) >>> 0;
  }

  pendSystem(n: number): void {
    if (n === Exc.NMI) this.nmiPending = true;
    else if (n === Exc.PENDSV) this.pendSvPending = true;
    else if (n === Exc.SYSTICK) this.sysTickPending = true;
    else throw new RangeError(`exception ${n} cannot be pended`);
    if (this.sevOnPend) this.eventRegister = true;
    this.onChange();
  }

  /** Priority of exception `n`: lower wins; the fixed ones are negative. */
  priorityOf(n: number): number {
    if (n >= Exc.IRQ0) return this.irqPriority[n - Exc.IRQ0]!;
    switch (n) {
      case Exc.RESET:
        return -3;
      case Exc.NMI:
        return -2;
      case Exc.HARD_FAULT:
        return -1;
      case Exc.SVCALL:
        return this.svcPriority;
      case Exc.PENDSV:
        return this.pendSvPriority;
      case Exc.SYSTICK:
        return this.sysTickPriority;
      default:
        return BASE_PRIORITY;
    }
  }

  /** Execution priority (§B1.5.4): the best active priority, boosted to 0 by PRIMASK. */
  executionPriority(primask: boolean): number {
    let p = BASE_PRIORITY;
    if (this.activeCount !== 0) {
      const act = this.active;
      for (let n = 1; n < act.length; n++) {
        if (act[n] !== 0) {
          const q = this.priorityOf(n);
          if (q < p) p = q;
        }
      }
    }
    return primask && p > 0 ? 0 : p;
  }

  /**
   * The pending exception that would be taken next regardless of the
   * current execution priority (ties go to the lower number), or 0.
   */
  highestPending(): number {
    // Candidates are visited in increasing exception number, so a strict `<` keeps the lower number on ties.
    let best = 0;
    let bestPri = BASE_PRIORITY;
    if (this.nmiPending) return Exc.NMI;
    if (this.pendSvPending && this.pendSvPriority < bestPri) {
      best = Exc.PENDSV;
      bestPri = this.pendSvPriority;
    }
    if (this.sysTickPending && this.sysTickPriority < bestPri) {
      best = Exc.SYSTICK;
      bestPri = this.sysTickPriority;
    }
    let irqs = (this.pending & this.enabled) >>> 0;
    while (irqs !== 0) {
      const i = 31 - Math.clz32(irqs & -irqs);
      const p = this.irqPriority[i]!;
      if (p < bestPri) {
        best = Exc.IRQ0 + i;
        bestPri = p;
      }
      irqs = (irqs & (irqs - 1)) >>> 0;
    }
    return best;
  }

  /** The exception that preempts now (PRIMASK respected), or 0. */
  toTake(primask: boolean): number {
    const n = this.highestPending();
    if (n === 0) return 0;
    return this.priorityOf(n) < this.executionPriority(primask) ? n : 0;
  }

  /** Whether WFI should wake: something would preempt if PRIMASK were clear. */
  wouldWake(): boolean {
    return this.toTake(false) !== 0;
  }

  /** Exception entry: `n` becomes active and stops being pending. */
  activate(n: number): void {
    if (n >= Exc.IRQ0) this.pending = (this.pending & ~(1 << (n - Exc.IRQ0))) >>> 0;
    else if (n === Exc.NMI) this.nmiPending = false;
    else if (n === Exc.PENDSV) this.pendSvPending = false;
    else if (n === Exc.SYSTICK) this.sysTickPending = false;
    if (this.active[n] === 0) {
      this.active[n] = 1;
      this.activeCount++;
      this.observer?.active(n, true);
    }
  }

  /** Exception return: a level-sensitive line still high pends again (§B3.4.1). */
  deactivate(n: number): void {
    if (this.active[n] !== 0) {
      this.active[n] = 0;
      this.activeCount--;
      this.observer?.active(n, false);
    }
    if (n >= Exc.IRQ0) {
      const bit = (1 << (n - Exc.IRQ0)) >>> 0;
      if ((this.level & bit) !== 0) this.pending = (this.pending | bit) >>> 0;
    }
    this.onChange();
  }

  /** Whether any external interrupt is pending (ICSR.ISRPENDING). */
  get irqPending(): boolean {
    return this.pending !== 0;
  }

  /** Reset state: nothing pending, active or enabled; priorities 0. Line levels are kept. */
  reset(): void {
    this.enabled = 0;
    this.pending = this.level;
    this.irqPriority.fill(0);
    this.svcPriority = 0;
    this.pendSvPriority = 0;
    this.sysTickPriority = 0;
    this.nmiPending = false;
    this.pendSvPending = false;
    this.sysTickPending = false;
    this.active.fill(0);
    this.activeCount = 0;
    this.sevOnPend = false;
    this.eventRegister = false;
  }
}
