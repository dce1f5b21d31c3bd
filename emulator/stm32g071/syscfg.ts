/**
 * SYSCFG (RM0444, SYSCFG chapter): configuration registers kept as storage. The memory
 * remap (CFGR1.MEM_MODE) is stored but not applied: the chip maps flash at 0
 * as after a boot from main flash, which is how the bridge boots. The
 * interrupt-line status registers (SYSCFG_ITLINEx) read as 0.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const SYSCFG_BASE = 0x4001_0000;

export const SYSCFG = {
  CFGR1: 0x00,
  CFGR2: 0x18,
  ITLINE0: 0x80,
  ITLINE31: 0xfc,
} as const;

/** CFGR1 fields per the SVD (MEM_MODE, PA11/PA12 remap, IR, BOOSTEN, UCPD strobes, I2C fast-mode plus). */
const CFGR1_WRITABLE =
  0x3 | (1 << 3) | (1 << 4) | (1 << 5) | (3 << 6) | (1 << 8) | (1 << 9) | (1 << 10) | (0x1ff << 16);
/** CFGR2: the lock bits (0, 1, 3) are set-only until reset; SRAM_PEF (8) is cleared by writing 1. */
const CFGR2_LOCKS = (1 << 0) | (1 << 1) | (1 << 3);

export class Syscfg implements MemoryMappedDevice {
  readonly name = 'SYSCFG';
  writesWhileUnclocked = 0;
  private cfgr1 = 0;
  private cfgr2 = 0;
  private clockEnabled: boolean;

  constructor(options: { clockEnabled?: boolean } = {}) {
    this.clockEnabled = options.clockEnabled ?? true;
  }

  reset(): void {
    this.cfgr1 = 0;
    this.cfgr2 = 0;
  }

  setClockEnabled(on: boolean): void {
    this.clockEnabled = on;
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(SYSCFG_BASE, offset, false, size);
    const word = offset & ~3;
    if (word === SYSCFG.CFGR1) return laneRead(this.cfgr1, offset, size);
    if (word === SYSCFG.CFGR2) return laneRead(this.cfgr2, offset, size);
    if (word >= SYSCFG.ITLINE0 && word <= SYSCFG.ITLINE31) return 0;
    throw busError(SYSCFG_BASE, offset, false, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(SYSCFG_BASE, offset, true, size);
    const word = offset & ~3;
    const known =
      word === SYSCFG.CFGR1 || word === SYSCFG.CFGR2 || (word >= SYSCFG.ITLINE0 && word <= SYSCFG.ITLINE31);
    if (!known) throw busError(SYSCFG_BASE, offset, true, size);
    if (!this.clockEnabled) {
      this.writesWhileUnclocked++;
      return;
    }
    if (word === SYSCFG.CFGR1) this.cfgr1 = laneWrite(this.cfgr1, offset, value, size) & CFGR1_WRITABLE;
    else if (word === SYSCFG.CFGR2) {
      const v = laneWrite(0, offset, value, size);
      this.cfgr2 = (this.cfgr2 | (v & CFGR2_LOCKS)) & ~(v & (1 << 8));
    }
  }
}
