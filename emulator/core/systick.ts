/**
 * SysTick (DDI 0419 §B3.3), counted in core clock cycles. The counter is not
 * stepped: its value is derived from the cycle count when read, and the CPU
 * asks for `nextWrapCycle` to stop exactly when it reaches zero.
 */

const CSR_ENABLE = 1 << 0;
const CSR_TICKINT = 1 << 1;
const CSR_CLKSOURCE = 1 << 2;
const CSR_COUNTFLAG = 1 << 16;

export interface SysTickOptions {
  /**
   * Core cycles per tick of the external reference clock (CLKSOURCE = 0).
   * 0 means there is none, and CLKSOURCE reads as 1. Default 8 (HCLK/8, as on STM32).
   */
  readonly referenceDivider?: number;
  /** SYST_CALIB value. Default 0. */
  readonly calib?: number;
}

export class SysTick {
  private enabled = false;
  private tickInt = false;
  private processorClock = false;
  private countFlag = false;
  private reload = 0;
  /** The counter had `anchorValue` at cycle `anchorCycle` (ticking since, if enabled). */
  private anchorCycle = 0;
  private anchorValue = 0;
  /** Ticks after the anchor at which the counter next goes from 1 to 0. */
  private nextWrapTick = Infinity;
  /** Core cycle at which the counter next reaches 0, or Infinity. */
  nextWrapCycle = Infinity;
  private readonly refDivider: number;
  private readonly calib: number;

  constructor(
    private readonly now: () => number,
    private readonly onWrap: () => void,
    options: SysTickOptions = {},
  ) {
    this.refDivider = options.referenceDivider ?? 8;
    this.calib = (options.calib ?? 0) >>> 0;
    this.reset();
  }

  reset(): void {
    this.enabled = false;
    this.tickInt = false;
    this.processorClock = this.refDivider === 0;
    this.countFlag = false;
    this.reload = 0;
    this.anchorCycle = 0;
    this.anchorValue = 0;
    this.nextWrapTick = Infinity;
    this.nextWrapCycle = Infinity;
  }

  /** CSR and RVR as software set them, and core cycles per tick: what a report needs. */
  get settings(): {
    enabled: boolean;
    tickInt: boolean;
    processorClock: boolean;
    reload: number;
    divider: number;
  } {
    return {
      enabled: this.enabled,
      tickInt: this.tickInt,
      processorClock: this.processorClock,
      reload: this.reload,
      divider: this.divider,
    };
  }

  private get divider(): number {
    return this.processorClock ? 1 : this.refDivider;
  }

  private valueAt(cycle: number): number {
    if (!this.enabled) return this.anchorValue;
    const t = Math.floor((cycle - this.anchorCycle) / this.divider);
    if (t <= this.anchorValue) return this.anchorValue - t;
    if (this.reload === 0) return 0;
    return this.reload - ((t - this.anchorValue - 1) % (this.reload + 1));
  }

  /** Freeze the current value as the new anchor, then recompute the next wrap. */
  private reanchor(value: number): void {
    this.anchorCycle = this.now();
    this.anchorValue = value;
    if (!this.enabled) this.nextWrapTick = Infinity;
    else if (value > 0) this.nextWrapTick = value;
    // Counting from 0 first reloads (no wrap), then counts RVR down to 0.
    else this.nextWrapTick = this.reload > 0 ? this.reload + 1 : Infinity;
    this.updateWrapCycle();
  }

  private updateWrapCycle(): void {
    this.nextWrapCycle = this.anchorCycle + this.nextWrapTick * this.divider;
  }

  /**
   * Core cycle at which SysTick next needs the core: its next wrap when it
   * raises an exception (TICKINT), else never. COUNTFLAG alone is settled
   * lazily when CSR is read, so a free-running SysTick lets a sleeping core
   * stay idle instead of waking at every wrap.
   */
  get nextInterruptCycle(): number {
    return this.tickInt ? this.nextWrapCycle : Infinity;
  }

  /** Process every wrap due by `cycle` (COUNTFLAG, and the exception if TICKINT). */
  catchUp(cycle: number): void {
    if (!this.tickInt && this.nextWrapCycle <= cycle) {
      // No exception to raise: skip every wrap at once.
      const period = (this.reload + 1) * this.divider;
      const wraps = Math.floor((cycle - this.nextWrapCycle) / period) + 1;
      this.countFlag = true;
      this.nextWrapTick = this.reload > 0 ? this.nextWrapTick + wraps * (this.reload + 1) : Infinity;
      this.updateWrapCycle();
      return;
    }
    while (this.nextWrapCycle <= cycle) {
      this.countFlag = true;
      this.nextWrapTick = this.reload > 0 ? this.nextWrapTick + this.reload + 1 : Infinity;
      this.updateWrapCycle();
      if (this.tickInt) this.onWrap();
    }
  }

  /** Register read; `offset` is 0 (CSR), 4 (RVR), 8 (CVR) or 12 (CALIB). A debugger's read (`peek`) leaves COUNTFLAG set. */
  read(offset: number, peek = false): number {
    switch (offset) {
      case 0: {
        this.catchUp(this.now());
        const v =
          (this.enabled ? CSR_ENABLE : 0) |
          (this.tickInt ? CSR_TICKINT : 0) |
          (this.processorClock ? CSR_CLKSOURCE : 0) |
          (this.countFlag ? CSR_COUNTFLAG : 0);
        if (!peek) this.countFlag = false; // COUNTFLAG clears on a read by software
        return v;
      }
      case 4:
        return this.reload;
      case 8:
        return this.valueAt(this.now());
      default:
        return this.calib;
    }
  }

  write(offset: number, value: number): void {
    switch (offset) {
      case 0: {
        this.catchUp(this.now());
        const current = this.valueAt(this.now());
        this.enabled = (value & CSR_ENABLE) !== 0;
        this.tickInt = (value & CSR_TICKINT) !== 0;
        this.processorClock = this.refDivider === 0 || (value & CSR_CLKSOURCE) !== 0;
        this.reanchor(current);
        break;
      }
      case 4:
        this.catchUp(this.now());
        {
          const current = this.valueAt(this.now());
          this.reload = value & 0xffffff;
          this.reanchor(current);
        }
        break;
      case 8:
        // Any write clears the counter and COUNTFLAG (§B3.3.4).
        this.countFlag = false;
        this.reanchor(0);
        break;
      default:
        break; // CALIB is read-only
    }
  }
}
