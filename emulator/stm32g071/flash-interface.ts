/**
 * FLASH interface registers (RM0444 §3.7). Only ACR matters to the bridge:
 * LATENCY must be raised before SYSCLK goes to 64 MHz, and firmware reads it
 * back to be sure it took effect (RM0444 §3.3.4). The chip checks LATENCY
 * against HCLK whenever either changes (`onLatencyChange`): too few wait
 * states and instruction fetches from flash fail (see chip.ts). The other registers are storage with
 * the SVD's reset values (LOCK set in CR: programming is not modelled).
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const FLASH_BASE_REGS = 0x4002_2000;

export const FLASH = {
  ACR: 0x00,
  KEYR: 0x08,
  OPTKEYR: 0x0c,
  SR: 0x10,
  CR: 0x14,
  ECCR: 0x18,
  OPTR: 0x20,
} as const;

const RESET: Readonly<Record<number, number>> = {
  // DBG_SWEN (bit 18) is 1 out of reset (RM0444 §3.7.1); ST's SVD leaves it out.
  [FLASH.ACR]: 0x0004_0600,
  [FLASH.KEYR]: 0,
  [FLASH.OPTKEYR]: 0,
  [FLASH.SR]: 0,
  [FLASH.CR]: 0xc000_0000,
  [FLASH.ECCR]: 0,
  [FLASH.OPTR]: 0xf000_0000,
};

const ACR_PRFTEN = 1 << 8;
const ACR_ICEN = 1 << 9;
const ACR_ICRST = 1 << 11;

/** ACR bits software can write: LATENCY [2:0], PRFTEN 8, ICEN 9, ICRST 11, EMPTY 16, DBG_SWEN 18. */
const ACR_DBG_SWEN = 1 << 18;
const ACR_WRITABLE = 0x7 | (1 << 8) | (1 << 9) | (1 << 11) | (1 << 16) | (1 << 18);

export class FlashInterface implements MemoryMappedDevice {
  readonly name = 'FLASH';
  private regs = new Map<number, number>();
  /** Called after a write to ACR changed LATENCY. */
  onLatencyChange: (() => void) | undefined;
  /** Called when a write to ACR clears DBG_SWEN: the debugger loses its access (RM0444 §3.7.1). */
  onDebugDisabled: ((acr: number) => void) | undefined;
  /** Called after a write to ACR that changes how fetches are timed: LATENCY, PRFTEN, ICEN, or ICRST set. */
  onFetchTimingChange: (() => void) | undefined;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.regs = new Map(Object.entries(RESET).map(([k, v]) => [Number(k), v]));
  }

  get latency(): number {
    return (this.regs.get(FLASH.ACR) ?? 0) & 7;
  }

  /** ACR.PRFTEN: the prefetch buffer reads the next line ahead (RM0444 §3.3.5). */
  get prefetch(): boolean {
    return ((this.regs.get(FLASH.ACR) ?? 0) & ACR_PRFTEN) !== 0;
  }

  /** ACR.ICEN: the instruction cache keeps lines for branches back to them (RM0444 §3.3.5). */
  get instructionCache(): boolean {
    return ((this.regs.get(FLASH.ACR) ?? 0) & ACR_ICEN) !== 0;
  }

  /** Whether LATENCY is too small for HCLK in voltage range 1 (see `flashWaitStates`). */
  latencyTooLow(hclkHz: number): boolean {
    return this.latency < (flashWaitStates(hclkHz, 1) ?? Number.POSITIVE_INFINITY);
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(FLASH_BASE_REGS, offset, false, size);
    const word = offset & ~3;
    if (!(word in RESET)) throw busError(FLASH_BASE_REGS, offset, false, size);
    // The key registers are write-only.
    if (word === FLASH.KEYR || word === FLASH.OPTKEYR) return 0;
    return laneRead(this.regs.get(word) ?? 0, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(FLASH_BASE_REGS, offset, true, size);
    const word = offset & ~3;
    if (!(word in RESET)) throw busError(FLASH_BASE_REGS, offset, true, size);
    const old = this.regs.get(word) ?? 0;
    const v = laneWrite(old, offset, value, size);
    if (word === FLASH.ACR) {
      this.regs.set(word, (old & ~ACR_WRITABLE) | (v & ACR_WRITABLE));
      if ((old ^ v) & 7) this.onLatencyChange?.();
      if (old & ACR_DBG_SWEN && !(v & ACR_DBG_SWEN)) this.onDebugDisabled?.(v);
      if ((old ^ v) & (7 | ACR_PRFTEN | ACR_ICEN) || v & ACR_ICRST) this.onFetchTimingChange?.();
    } else if (word === FLASH.KEYR || word === FLASH.OPTKEYR || word === FLASH.SR) return;
    else if (word === FLASH.CR)
      this.regs.set(word, v | (old & 0xc000_0000)); // stays locked
    else this.regs.set(word, v);
  }
}

/**
 * The wait states flash reads need at `hclkHz` in a voltage range (RM0444
 * §3.3.4, "Number of wait states according to CPU clock (HCLK) frequency"):
 * range 1, 0 up to 24 MHz, 1 up to 48, 2 up to 64; range 2, 0 up to 8 MHz,
 * 1 up to 16. Undefined above the range's maximum.
 */
export function flashWaitStates(hclkHz: number, range: 1 | 2): number | undefined {
  const limits = range === 1 ? [24e6, 48e6, 64e6] : [8e6, 16e6];
  const ws = limits.findIndex((max) => hclkHz <= max);
  return ws < 0 ? undefined : ws;
}
