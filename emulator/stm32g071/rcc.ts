/**
 * RCC: reset and clock control (RM0444 §5). Models the clock tree the bridge
 * uses (HSI16, the PLL's R output, the AHB/APB prescalers, the USART kernel
 * clock selection) and the peripheral clock enables. Other RCC registers are
 * kept as plain read/write storage so firmware that touches them still runs.
 *
 * Readiness is virtual-time based: HSI16 is ready as soon as it is on (it is
 * already running out of reset), the PLL locks `pllLockNs` after PLLON.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { bit, busError, checkAligned, field, laneRead, laneWrite } from './mmio.ts';

export const RCC_BASE = 0x4002_1000;
export const HSI16_HZ = 16_000_000;
export const LSI_HZ = 32_000;

/** Register offsets (RM0444 §5.4). */
export const RCC = {
  CR: 0x00,
  ICSCR: 0x04,
  CFGR: 0x08,
  PLLCFGR: 0x0c,
  CIER: 0x18,
  CIFR: 0x1c,
  CICR: 0x20,
  IOPRSTR: 0x24,
  AHBRSTR: 0x28,
  APBRSTR1: 0x2c,
  APBRSTR2: 0x30,
  IOPENR: 0x34,
  AHBENR: 0x38,
  APBENR1: 0x3c,
  APBENR2: 0x40,
  IOPSMENR: 0x44,
  AHBSMENR: 0x48,
  APBSMENR1: 0x4c,
  APBSMENR2: 0x50,
  CCIPR: 0x54,
  BDCR: 0x5c,
  CSR: 0x60,
} as const;

/**
 * HSICAL, RCC_ICSCR[7:0]: HSI16's factory calibration, loaded at reset and
 * read-only (RM0444 §5.4.2). It differs from chip to chip; this is one.
 */
export const HSICAL_FACTORY = 0x4c;

/**
 * Reset values. From ST's SVD except RCC_CR: the SVD gives 0x63 (an MSI-style
 * value from another family); RM0444 §5.4.1 gives 0x0000_0500, HSION and
 * HSIRDY set, since the core runs from HSI16 out of reset. And RCC_ICSCR:
 * the SVD gives 0x1000_0000 (bit 28 is no field of it); RM0444 §5.4.2 gives
 * 0x0000_40XX, HSITRIM 64 (the middle of its range, what ST's
 * HAL_RCC_DeInit writes back) and HSICAL the factory calibration.
 */
export const RCC_RESET: Readonly<Record<number, number>> = {
  [RCC.CR]: 0x0000_0500,
  [RCC.ICSCR]: 0x0000_4000 | HSICAL_FACTORY,
  [RCC.CFGR]: 0,
  [RCC.PLLCFGR]: 0x0000_1000,
  [RCC.CIER]: 0,
  [RCC.CIFR]: 0,
  [RCC.CICR]: 0,
  [RCC.IOPRSTR]: 0,
  [RCC.AHBRSTR]: 0,
  [RCC.APBRSTR1]: 0,
  [RCC.APBRSTR2]: 0,
  [RCC.IOPENR]: 0,
  [RCC.AHBENR]: 0,
  [RCC.APBENR1]: 0,
  [RCC.APBENR2]: 0,
  [RCC.IOPSMENR]: 0,
  [RCC.AHBSMENR]: 0,
  [RCC.APBSMENR1]: 0,
  [RCC.APBSMENR2]: 0,
  [RCC.CCIPR]: 0,
  [RCC.BDCR]: 0,
  // PINRSTF | PWRRSTF: a power-on reset also shows as a pin reset (RM0444 §5.4.24).
  [RCC.CSR]: 0x0c00_0000,
};

const CR_HSION = 1 << 8;
const CR_HSIKERON = 1 << 9;
const CR_HSIRDY = 1 << 10;
const CR_HSEON = 1 << 16;
const CR_HSERDY = 1 << 17;
const CR_PLLON = 1 << 24;
const CR_PLLRDY = 1 << 25;
/** CR bits software may write (the rest are status or reserved). */
const CR_WRITABLE = CR_HSION | CR_HSIKERON | (7 << 11) | CR_HSEON | (1 << 18) | (1 << 19) | CR_PLLON;
const PLLCFGR_CONFIG = 0x3 | (0x7 << 4) | (0x7f << 8) | (0x1f << 17) | (0x7 << 25) | (0x7 << 29);
const PLLCFGR_ENABLES = (1 << 16) | (1 << 24) | (1 << 28);

/** Clocks a peripheral model can be gated by. */
export type ClockGate = 'GPIOA' | 'GPIOB' | 'GPIOC' | 'DMA1' | 'USART1' | 'USART2' | 'SYSCFG' | 'DBG' | 'PWR';

const GATES: Record<ClockGate, readonly [number, number]> = {
  GPIOA: [RCC.IOPENR, 0],
  GPIOB: [RCC.IOPENR, 1],
  GPIOC: [RCC.IOPENR, 2],
  DMA1: [RCC.AHBENR, 0],
  USART2: [RCC.APBENR1, 17],
  DBG: [RCC.APBENR1, 27],
  PWR: [RCC.APBENR1, 28],
  SYSCFG: [RCC.APBENR2, 0],
  USART1: [RCC.APBENR2, 14],
};

const RESET_REGISTERS = new Set<number>([RCC.IOPRSTR, RCC.AHBRSTR, RCC.APBRSTR1, RCC.APBRSTR2]);

/** A snapshot of the clock tree, in hertz. */
export interface ClockTree {
  readonly sysclkHz: number;
  readonly hclkHz: number;
  readonly pclkHz: number;
  readonly pllrclkHz: number;
  readonly usart1KernelHz: number;
  readonly usart2KernelHz: number;
}

export interface RccOptions {
  /** PLL lock time after PLLON (RM0444 gives no number; the datasheet's t_LOCK is ≤ 40 µs). */
  pllLockNs?: number;
  /** HSE frequency on the board; the Nucleo's ST-LINK MCO is not fitted by default, so 0. */
  hseHz?: number;
}

/** What a write did that the manual says software must not do. */
export type RccMisuse = 'pllcfgr-while-pll-on';

export class Rcc implements MemoryMappedDevice {
  readonly name = 'RCC';
  /** Counts of writes the manual forbids; the firmware should never do them. */
  readonly misuse = new Map<RccMisuse, number>();
  /** Called at each misuse, after it is counted. */
  onMisuse: ((kind: RccMisuse) => void) | undefined;
  private regs = new Map<number, number>();
  private pllTimer: TimerHandle | undefined;
  private tree: ClockTree;
  private readonly treeListeners: ((tree: ClockTree) => void)[] = [];
  private readonly sysclkListeners: ((hz: number) => void)[] = [];
  private readonly hclkListeners: ((hz: number) => void)[] = [];
  private readonly gateListeners: ((gate: ClockGate, enabled: boolean) => void)[] = [];
  private readonly resetListeners: ((gate: ClockGate) => void)[] = [];
  private readonly pllLockNs: number;
  /**
   * Called when PLLON is set with a configuration out of limits (the PLL
   * never locks), or an output is enabled beyond its limits while the PLL
   * runs (that output stays off).
   */
  onPllConfigError: ((why: string, effect: 'no-lock' | 'output-off') => void) | undefined;
  private readonly hseHz: number;

  constructor(
    private readonly clock: Clock,
    options: RccOptions = {},
  ) {
    this.pllLockNs = options.pllLockNs ?? 20_000;
    this.hseHz = options.hseHz ?? 0;
    this.tree = this.computeTree();
    this.reset('power');
  }

  /**
   * Registers to their reset values, listeners told of the new tree. A system
   * reset keeps the reset flags in CSR (RM0444 §5.4.24: only RMVF or a power
   * reset clears them); a power reset starts over.
   */
  reset(kind: 'system' | 'power' = 'system'): void {
    if (this.pllTimer) this.clock.cancel(this.pllTimer);
    this.pllTimer = undefined;
    const gatesBefore = this.gateStates();
    const flags = this.reg(RCC.CSR) & 0xfe00_0000;
    this.regs = new Map(Object.entries(RCC_RESET).map(([k, v]) => [Number(k), v]));
    if (kind === 'system') this.regs.set(RCC.CSR, flags);
    this.afterChange(gatesBefore);
  }

  get clocks(): ClockTree {
    return this.tree;
  }
  get sysclkHz(): number {
    return this.tree.sysclkHz;
  }
  get hclkHz(): number {
    return this.tree.hclkHz;
  }
  get pclkHz(): number {
    return this.tree.pclkHz;
  }
  usartKernelHz(n: 1 | 2): number {
    return n === 1 ? this.tree.usart1KernelHz : this.tree.usart2KernelHz;
  }

  isEnabled(gate: ClockGate): boolean {
    const [reg, b] = GATES[gate];
    return bit(this.reg(reg), b);
  }

  /** Called with the new tree whenever any frequency changes. */
  onClocksChange(listener: (tree: ClockTree) => void): void {
    this.treeListeners.push(listener);
  }
  /** Called when SYSCLK changes. */
  onSysclkChange(listener: (hz: number) => void): void {
    this.sysclkListeners.push(listener);
  }
  /** Called when HCLK (core, AHB, DMA, SysTick) changes. */
  onHclkChange(listener: (hz: number) => void): void {
    this.hclkListeners.push(listener);
  }
  /** Called when a peripheral clock enable bit changes. */
  onGateChange(listener: (gate: ClockGate, enabled: boolean) => void): void {
    this.gateListeners.push(listener);
  }

  /**
   * Called when software sets a peripheral's reset bit in IOPRSTR, AHBRSTR or
   * APBRSTRx (RM0444 §5.4.9-§5.4.12): the peripheral returns to its reset state.
   */
  onPeripheralReset(listener: (gate: ClockGate) => void): void {
    this.resetListeners.push(listener);
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(RCC_BASE, offset, false, size);
    const word = offset & ~3;
    if (!(word in RCC_RESET)) throw busError(RCC_BASE, offset, false, size);
    // CICR is write-only and reads as zero.
    return laneRead(word === RCC.CICR ? 0 : this.reg(word), offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(RCC_BASE, offset, true, size);
    const word = offset & ~3;
    if (!(word in RCC_RESET)) throw busError(RCC_BASE, offset, true, size);
    const old = this.reg(word);
    const v = laneWrite(old, offset, value, size);
    const gatesBefore = this.gateStates();
    switch (word) {
      case RCC.CR:
        this.writeCr(old, v);
        break;
      case RCC.CFGR:
        // SWS [5:3] is read-only; MCO fields are stored.
        this.regs.set(word, (v & ~(7 << 3)) | (old & (7 << 3)));
        break;
      case RCC.PLLCFGR: {
        // RM0444 §5.4.4: the PLL configuration can be written only while the
        // PLL is off (PLLON = 0 and PLLRDY = 0); the output enables any time.
        const pllOff = (this.reg(RCC.CR) & (CR_PLLON | CR_PLLRDY)) === 0;
        if (!pllOff && ((v ^ old) & PLLCFGR_CONFIG) !== 0) this.countMisuse('pllcfgr-while-pll-on');
        let next = pllOff ? v : (old & PLLCFGR_CONFIG) | (v & PLLCFGR_ENABLES);
        // An output enabled while the PLL runs must be within its limits too
        // (at PLLON they are checked with the rest): otherwise it stays off.
        const enabling = next & ~old & PLLCFGR_ENABLES;
        const outputError =
          enabling && this.reg(RCC.CR) & CR_PLLON
            ? this.pllOutputError(enabling | (next & PLLCFGR_CONFIG), this.vcoHz(next))
            : undefined;
        if (outputError !== undefined) {
          this.onPllConfigError?.(outputError, 'output-off');
          next &= ~enabling;
        }
        this.regs.set(word, next & (PLLCFGR_CONFIG | PLLCFGR_ENABLES));
        break;
      }
      case RCC.ICSCR:
        // HSICAL [7:0] is read-only; HSITRIM [14:8] is the user's trim.
        this.regs.set(word, (v & (0x7f << 8)) | (old & 0xff));
        break;
      case RCC.CIFR:
        break; // read-only
      case RCC.CICR:
        this.regs.set(RCC.CIFR, this.reg(RCC.CIFR) & ~v);
        break;
      case RCC.CSR: {
        // RMVF (bit 23) clears the reset flags [31:25]; LSION (bit 0) is stored.
        const flags = v & (1 << 23) ? 0 : old & 0xfe00_0000;
        this.regs.set(word, flags | (v & 1));
        break;
      }
      default:
        this.regs.set(word, v);
    }
    if (RESET_REGISTERS.has(word)) this.resetRisingBits(word, old, v);
    this.afterChange(gatesBefore);
  }

  private resetRisingBits(word: number, old: number, v: number): void {
    const rising = v & ~old;
    if (rising === 0) return;
    // Each reset register mirrors its enable register 0x10 above it.
    for (const [gate, [enReg, b]] of Object.entries(GATES) as [ClockGate, readonly [number, number]][]) {
      if (enReg === word + 0x10 && bit(rising, b)) for (const l of this.resetListeners) l(gate);
    }
  }

  /** Records a reset cause for the next boot (RM0444 §5.4.24): 'pin' or 'software'. */
  noteReset(cause: 'pin' | 'software' | 'power' | 'watchdog'): void {
    const flag =
      cause === 'pin'
        ? 1 << 26
        : cause === 'software'
          ? 1 << 28
          : cause === 'watchdog'
            ? 1 << 29
            : (1 << 27) | (1 << 26);
    this.regs.set(RCC.CSR, this.reg(RCC.CSR) | flag);
  }

  private reg(offset: number): number {
    return this.regs.get(offset) ?? 0;
  }

  private countMisuse(kind: RccMisuse): void {
    this.misuse.set(kind, (this.misuse.get(kind) ?? 0) + 1);
    this.onMisuse?.(kind);
  }

  private writeCr(old: number, written: number): void {
    let v = (old & ~CR_WRITABLE) | (written & CR_WRITABLE);
    const sws = field(this.reg(RCC.CFGR), 3, 3);
    const pllSrc = field(this.reg(RCC.PLLCFGR), 0, 2);
    const pllInUse = sws === 2;
    // RM0444 §5.4.1: HSION is forced on while HSI16 feeds SYSCLK directly or
    // through the PLL; PLLON can't be cleared while the PLL is SYSCLK.
    if (sws === 0 || (pllInUse && pllSrc === 2)) v |= CR_HSION;
    if (pllInUse) v |= CR_PLLON;
    v = v & CR_HSION ? v | CR_HSIRDY : v & ~CR_HSIRDY;
    v = v & CR_HSEON && this.hseHz > 0 ? v | CR_HSERDY : v & ~CR_HSERDY;
    const pllError = v & CR_PLLON && !(old & CR_PLLON) ? this.pllConfigError() : undefined;
    if (pllError !== undefined) this.onPllConfigError?.(pllError, 'no-lock');
    else if (v & CR_PLLON && !(old & CR_PLLON)) {
      // The PLL needs its input running to lock.
      this.pllTimer = this.clock.schedule(this.pllLockNs, () => {
        this.pllTimer = undefined;
        if (this.pllInputHz() > 0 && this.reg(RCC.CR) & CR_PLLON) {
          const gatesBefore = this.gateStates();
          this.regs.set(RCC.CR, this.reg(RCC.CR) | CR_PLLRDY);
          this.afterChange(gatesBefore);
        }
      });
    }
    if (!(v & CR_PLLON)) {
      v &= ~CR_PLLRDY;
      if (this.pllTimer) this.clock.cancel(this.pllTimer);
      this.pllTimer = undefined;
    }
    this.regs.set(RCC.CR, v);
  }

  /**
   * Why the PLL, as configured, must not be started (RM0444 §5.4.4
   * RCC_PLLCFGR and the datasheet's PLL characteristics for range 1): a
   * reserved divider, VCO input outside 2.66–16 MHz, VCO outside 64–344 MHz,
   * an enabled output above its maximum. Undefined when it is in limits.
   */
  private pllConfigError(): string | undefined {
    const cfg = this.reg(RCC.PLLCFGR);
    const src = field(cfg, 0, 2);
    if (src === 1) return 'PLLSRC = 01 is reserved';
    if (src === 0) return 'PLLSRC = 00: no clock is selected as the PLL input';
    const inHz = src === 2 ? HSI16_HZ : this.hseHz;
    if (inHz === 0) return 'PLLSRC = HSE, and this board has no HSE (the Nucleo leaves it unfitted)';
    const m = field(cfg, 4, 3) + 1;
    const n = field(cfg, 8, 7);
    const mhz = (hz: number) => `${+(hz / 1e6).toFixed(3)} MHz`;
    if (n < 8 || n > 86) return `PLLN = ${n} is reserved (8 to 86)`;
    const vcoIn = inHz / m;
    if (vcoIn < 2.66e6 || vcoIn > 16e6)
      return `the VCO input (PLL input / M) is ${mhz(vcoIn)}, outside 2.66–16 MHz`;
    const vco = vcoIn * n;
    if (vco < 64e6 || vco > 344e6) return `the VCO runs at ${mhz(vco)}, outside 64–344 MHz`;
    return this.pllOutputError(cfg, vco);
  }

  /** Why an enabled PLL output of `cfg` must not run, given the VCO frequency. */
  private pllOutputError(cfg: number, vcoHz: number): string | undefined {
    const mhz = (hz: number) => `${+(hz / 1e6).toFixed(3)} MHz`;
    const checks: [number, number, number, string, number, number][] = [
      // enable bit, field position, width, name, lowest valid field value, max output Hz
      [28, 29, 3, 'R', 1, 64e6],
      [16, 17, 5, 'P', 1, 122e6],
      [24, 25, 3, 'Q', 1, 128e6],
    ];
    for (const [en, pos, width, name, lowest, maxHz] of checks) {
      if (!bit(cfg, en)) continue;
      const f = field(cfg, pos, width);
      if (f < lowest) return `PLL${name} = 0 is reserved`;
      const out = vcoHz / (f + 1);
      if (out > maxHz) return `PLL${name}CLK would run at ${mhz(out)}, above its ${mhz(maxHz)} maximum`;
    }
    return undefined;
  }

  /** The VCO's frequency as configured (0 without input). */
  private vcoHz(cfg: number): number {
    return (this.pllInputHz() / (field(cfg, 4, 3) + 1)) * field(cfg, 8, 7);
  }

  private pllInputHz(): number {
    const cr = this.reg(RCC.CR);
    switch (field(this.reg(RCC.PLLCFGR), 0, 2)) {
      case 2:
        return cr & CR_HSIRDY ? HSI16_HZ : 0;
      case 3:
        return cr & CR_HSERDY ? this.hseHz : 0;
      default:
        return 0;
    }
  }

  /** PLLRCLK = input / M × N / R while the PLL is locked and its R output enabled (RM0444 §5.2.4). */
  private pllrclkHz(): number {
    const cr = this.reg(RCC.CR);
    const cfg = this.reg(RCC.PLLCFGR);
    if (!(cr & CR_PLLRDY) || !bit(cfg, 28)) return 0;
    const m = field(cfg, 4, 3) + 1;
    const n = field(cfg, 8, 7);
    const r = field(cfg, 29, 3) + 1;
    return ((this.pllInputHz() / m) * n) / r;
  }

  private sourceReady(sw: number): boolean {
    const cr = this.reg(RCC.CR);
    switch (sw) {
      case 0:
        return (cr & CR_HSIRDY) !== 0;
      case 1:
        return (cr & CR_HSERDY) !== 0;
      case 2:
        return this.pllrclkHz() > 0;
      default:
        return false; // LSI/LSE are not modelled
    }
  }

  /** RM0444 §5.2.7: the switch happens once the selected source is ready; SWS tells when. */
  private updateSws(): void {
    const cfgr = this.reg(RCC.CFGR);
    const sw = field(cfgr, 0, 3);
    if (field(cfgr, 3, 3) !== sw && this.sourceReady(sw))
      this.regs.set(RCC.CFGR, (cfgr & ~(7 << 3)) | (sw << 3));
  }

  private computeTree(): ClockTree {
    const cr = this.reg(RCC.CR);
    const cfgr = this.reg(RCC.CFGR);
    const hsisys = cr & CR_HSIRDY ? HSI16_HZ / (1 << field(cr, 11, 3)) : 0;
    const pllr = this.pllrclkHz();
    const sws = field(cfgr, 3, 3);
    const sysclk = sws === 0 ? hsisys : sws === 1 ? this.hseHz : sws === 2 ? pllr : 0;
    const hpre = field(cfgr, 8, 4);
    const hdiv = hpre < 8 ? 1 : [2, 4, 8, 16, 64, 128, 256, 512][hpre - 8]!;
    const hclk = sysclk / hdiv;
    const ppre = field(cfgr, 12, 3);
    const pclk = hclk / (ppre < 4 ? 1 : 1 << (ppre - 3));
    const ccipr = this.reg(RCC.CCIPR);
    const hsiOn = (cr & CR_HSIRDY) !== 0;
    const kernel = (sel: number): number =>
      sel === 0 ? pclk : sel === 1 ? sysclk : sel === 2 && hsiOn ? HSI16_HZ : 0;
    return {
      sysclkHz: sysclk,
      hclkHz: hclk,
      pclkHz: pclk,
      pllrclkHz: pllr,
      usart1KernelHz: kernel(field(ccipr, 0, 2)),
      usart2KernelHz: kernel(field(ccipr, 2, 2)),
    };
  }

  private gateStates(): boolean[] {
    return (Object.keys(GATES) as ClockGate[]).map((g) => this.isEnabled(g));
  }

  private afterChange(gatesBefore: boolean[]): void {
    this.updateSws();
    const before = this.tree;
    const after = this.computeTree();
    this.tree = after;
    const changed = (Object.keys(after) as (keyof ClockTree)[]).some((k) => after[k] !== before[k]);
    if (changed) for (const l of this.treeListeners) l(after);
    if (after.sysclkHz !== before.sysclkHz) for (const l of this.sysclkListeners) l(after.sysclkHz);
    if (after.hclkHz !== before.hclkHz) for (const l of this.hclkListeners) l(after.hclkHz);
    const gates = Object.keys(GATES) as ClockGate[];
    gates.forEach((g, i) => {
      const now = this.isEnabled(g);
      if (now !== gatesBefore[i]) for (const l of this.gateListeners) l(g, now);
    });
  }
}
