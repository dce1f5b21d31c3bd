/**
 * A block of plain read/write registers with reset values: for blocks the
 * firmware touches but whose behaviour does not matter to the board (see
 * `UNMODELLED_BLOCKS` in chip.ts). Offsets outside the listed registers are
 * bus errors, so a firmware that starts relying on more of the block is noticed.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { busError, checkAligned, laneRead, laneWrite } from './mmio.ts';

export class RegisterStorage implements MemoryMappedDevice {
  private regs = new Map<number, number>();

  constructor(
    readonly name: string,
    readonly base: number,
    private readonly resets: Readonly<Record<number, number>>,
  ) {
    this.reset();
  }

  reset(): void {
    this.regs = new Map(Object.entries(this.resets).map(([k, v]) => [Number(k), v >>> 0]));
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(this.base, offset, false, size);
    const v = this.regs.get(offset & ~3);
    if (v === undefined) throw busError(this.base, offset, false, size);
    return laneRead(v, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(this.base, offset, true, size);
    const word = offset & ~3;
    const old = this.regs.get(word);
    if (old === undefined) throw busError(this.base, offset, true, size);
    this.regs.set(word, laneWrite(old, offset, value, size));
  }
}
