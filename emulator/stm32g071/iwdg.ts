/**
 * IWDG, the independent watchdog (RM0444 §24): a 12-bit down-counter
 * clocked by LSI (32 kHz) through a prescaler; once started it cannot be
 * stopped, and reaching 0 resets the chip (RCC_CSR.IWDGRSTF).
 *
 * - KR: 0xCCCC starts it (and LSI), 0xAAAA reloads the counter from RLR,
 *   0x5555 opens PR, RLR and WINR to writes, any other key closes them
 *   (RM0444 §24.3.5 "Register access protection").
 * - PR: prescaler /4 × 2^PR (PR 6 and 7: /256). RLR: reload value, reset
 *   0xFFF. WINR: the window; a reload while the counter is above it resets
 *   the chip (§24.3.4 "Window option").
 * - SR: PVU, RVU, WVU are set while a written PR, RLR or WINR crosses into
 *   the LSI domain, five LSI cycles (§24.4.4).
 * - A write to PR, RLR or WINR while they are closed is ignored, as on the
 *   chip, and counted as misuse.
 * - DBGMCU APB_FZ1.DBG_IWDG_STOP freezes the counter only while a debugger
 *   holds the core halted; nothing halts the virtual core, so it is not
 *   consulted.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { busError, checkAligned, laneRead } from './mmio.ts';

export const IWDG_BASE = 0x4000_3000;
export const IWDG = { KR: 0x00, PR: 0x04, RLR: 0x08, SR: 0x0c, WINR: 0x10 } as const;

export const IWDG_KEY = { START: 0xcccc, RELOAD: 0xaaaa, UNLOCK: 0x5555 } as const;
const LSI_HZ = 32_000;
const SYNC_LSI_CYCLES = 5;
const SR_PVU = 1 << 0;
const SR_RVU = 1 << 1;
const SR_WVU = 1 << 2;

export type IwdgMisuse =
  /** PR, RLR or WINR written without the 0x5555 key first: the chip ignores it. */
  | 'write-while-locked'
  /** PR, RLR or WINR written while its previous value was still being synchronised (SR flag set). */
  | 'write-while-updating';

export class Iwdg implements MemoryMappedDevice {
  readonly name = 'IWDG';
  readonly misuse = new Map<IwdgMisuse, number>();
  /** Called at each misuse, after it is counted. */
  onMisuse: ((kind: IwdgMisuse) => void) | undefined;
  /** Told at each reload of the counter (a signal trace, emulator/debug/trace); null: none. */
  onReload: (() => void) | null = null;
  private running = false;
  private unlocked = false;
  private pr = 0;
  private rlr = 0xfff;
  private winr = 0xfff;
  private sr = 0;
  /** Counter value at `countedFromNs`, counting down since. */
  private counterAt = 0xfff;
  private countedFromNs = 0;
  private expiry: TimerHandle | undefined;
  private readonly syncTimers: TimerHandle[] = [];

  constructor(
    private readonly clock: Clock,
    /** Called when the counter reaches 0: the chip resets. */
    private readonly onExpiry: () => void,
  ) {}

  /** A system reset stops the watchdog and puts its registers back (RM0444 §24.4). */
  reset(): void {
    if (this.expiry) this.clock.cancel(this.expiry);
    for (const t of this.syncTimers.splice(0)) this.clock.cancel(t);
    this.expiry = undefined;
    this.running = false;
    this.unlocked = false;
    this.pr = 0;
    this.rlr = 0xfff;
    this.winr = 0xfff;
    this.sr = 0;
    this.counterAt = 0xfff;
  }

  get started(): boolean {
    return this.running;
  }

  /** Time from a reload to the reset it prevents: (RLR + 1) ticks. */
  get periodNs(): number {
    return (this.rlr + 1) * this.tickNs();
  }

  /** The counter now (0xFFF before the watchdog starts). */
  get counter(): number {
    if (!this.running) return this.counterAt;
    const ticks = Math.floor((this.clock.nowNs - this.countedFromNs) / this.tickNs());
    return Math.max(0, this.counterAt - ticks);
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(IWDG_BASE, offset, false, size);
    const word = offset & ~3;
    switch (word) {
      case IWDG.KR:
        return 0; // write-only
      case IWDG.PR:
        return laneRead(this.pr, offset, size);
      case IWDG.RLR:
        return laneRead(this.rlr, offset, size);
      case IWDG.SR:
        return laneRead(this.sr, offset, size);
      case IWDG.WINR:
        return laneRead(this.winr, offset, size);
      default:
        throw busError(IWDG_BASE, offset, false, size);
    }
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(IWDG_BASE, offset, true, size);
    const word = offset & ~3;
    switch (word) {
      case IWDG.KR:
        this.key(value & 0xffff);
        return;
      case IWDG.PR:
        if (this.protectedWrite(SR_PVU)) this.pr = value & 7;
        return;
      case IWDG.RLR:
        if (this.protectedWrite(SR_RVU)) this.rlr = value & 0xfff;
        return;
      case IWDG.WINR:
        if (this.protectedWrite(SR_WVU)) {
          this.winr = value & 0xfff;
          // Writing WINR reloads the counter (RM0444 §24.3.4).
          if (this.running) this.reload();
        }
        return;
      case IWDG.SR:
        return; // read-only
      default:
        throw busError(IWDG_BASE, offset, true, size);
    }
  }

  private key(k: number): void {
    switch (k) {
      case IWDG_KEY.START:
        if (!this.running) {
          this.running = true;
          this.counterAt = this.rlr;
          this.countedFromNs = this.clock.nowNs;
          this.schedule();
        }
        this.unlocked = false;
        return;
      case IWDG_KEY.RELOAD:
        if (this.running) {
          if (this.winr < 0xfff && this.counter > this.winr) {
            // Refreshed outside the window: reset (RM0444 §24.3.4).
            this.expire();
            return;
          }
          this.reload();
        }
        this.unlocked = false;
        return;
      case IWDG_KEY.UNLOCK:
        this.unlocked = true;
        return;
      default:
        this.unlocked = false;
    }
  }

  private protectedWrite(flag: number): boolean {
    if (!this.unlocked) {
      this.countMisuse('write-while-locked');
      return false;
    }
    if (this.sr & flag) this.countMisuse('write-while-updating');
    this.sr |= flag;
    const timer = this.clock.schedule(SYNC_LSI_CYCLES * (1e9 / LSI_HZ), () => {
      this.sr &= ~flag;
      const i = this.syncTimers.indexOf(timer);
      if (i >= 0) this.syncTimers.splice(i, 1);
    });
    this.syncTimers.push(timer);
    return true;
  }

  private reload(): void {
    this.onReload?.();
    this.counterAt = this.rlr;
    this.countedFromNs = this.clock.nowNs;
    this.schedule();
  }

  /** One counter tick: LSI divided by the prescaler (4 × 2^PR, at most 256). */
  private tickNs(): number {
    return ((4 << Math.min(this.pr, 6)) * 1e9) / LSI_HZ;
  }

  private schedule(): void {
    if (this.expiry) this.clock.cancel(this.expiry);
    // It counts RLR down to 0, then resets on the next tick.
    this.expiry = this.clock.schedule((this.counterAt + 1) * this.tickNs(), () => {
      this.expiry = undefined;
      this.expire();
    });
  }

  private expire(): void {
    this.onExpiry();
  }

  private countMisuse(kind: IwdgMisuse): void {
    this.misuse.set(kind, (this.misuse.get(kind) ?? 0) + 1);
    this.onMisuse?.(kind);
  }
}
