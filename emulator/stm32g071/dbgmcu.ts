/**
 * DBGMCU (RM0444, debug support chapter, DBG_IDCODE): IDCODE identifies the device, the other registers
 * (CR, APB_FZ1, APB_FZ2) are stored. DEV_ID 0x460 is the STM32G07x/G08x; the
 * revision defaults to 0x2000 (rev. B, the silicon on current Nucleo boards).
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export const DBGMCU_BASE = 0x4001_5800;
export const DEV_ID_G07X = 0x460;

export const DBGMCU = { IDCODE: 0x00, CR: 0x04, APB_FZ1: 0x08, APB_FZ2: 0x0c } as const;

const WRITABLE: Readonly<Record<number, number>> = {
  [DBGMCU.CR]: 0x6,
  [DBGMCU.APB_FZ1]: 0x3 | (3 << 4) | (7 << 10) | (1 << 21) | (3 << 30),
  [DBGMCU.APB_FZ2]: (1 << 11) | (0xf << 15),
};

export class Dbgmcu implements MemoryMappedDevice {
  readonly name = 'DBGMCU';
  readonly idcode: number;
  private regs = new Map<number, number>();

  constructor(options: { revId?: number } = {}) {
    this.idcode = (((options.revId ?? 0x2000) & 0xffff) << 16) | DEV_ID_G07X;
  }

  reset(): void {
    this.regs.clear();
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(DBGMCU_BASE, offset, false, size);
    const word = offset & ~3;
    if (word === DBGMCU.IDCODE) return laneRead(this.idcode >>> 0, offset, size);
    if (!(word in WRITABLE)) throw busError(DBGMCU_BASE, offset, false, size);
    return laneRead(this.regs.get(word) ?? 0, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(DBGMCU_BASE, offset, true, size);
    const word = offset & ~3;
    if (word === DBGMCU.IDCODE) return; // read-only
    const mask = WRITABLE[word];
    if (mask === undefined) throw busError(DBGMCU_BASE, offset, true, size);
    this.regs.set(word, laneWrite(this.regs.get(word) ?? 0, offset, value, size) & mask);
  }
}
