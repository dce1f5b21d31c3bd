/**
 * Small helpers shared by the register models: sub-word access to 32-bit
 * registers and the bus error for an offset a block does not decode.
 *
 * The G0's AHB/APB peripherals accept byte, half-word and word accesses
 * (RM0444 §2.1, "the peripheral registers can be accessed by bytes, half-words
 * or words" for most blocks); the models keep each register as a 32-bit value
 * and let byte/half-word accesses see or update their lanes.
 */
import { type AccessSize, BusError } from '../core/bus.ts';

/** The lanes of a 32-bit register value that an access at `offset` of `size` sees. */
export function laneRead(word: number, offset: number, size: AccessSize): number {
  if (size === 4) return word >>> 0;
  const shift = (offset & 3) * 8;
  const mask = size === 2 ? 0xffff : 0xff;
  return (word >>> shift) & mask;
}

/**
 * The new 32-bit register value after a write of `size` at `offset`: the
 * written lanes replace those of `old`, the others keep `old`. Pass `old = 0`
 * for action registers (set/reset/clear-by-writing-1), where untouched lanes
 * must not act.
 */
export function laneWrite(old: number, offset: number, value: number, size: AccessSize): number {
  if (size === 4) return value >>> 0;
  const shift = (offset & 3) * 8;
  const mask = (size === 2 ? 0xffff : 0xff) << shift;
  return ((old & ~mask) | ((value << shift) & mask)) >>> 0;
}

/** A bus error for an access to `base + offset` (for devices that know their base). */
export function busError(base: number, offset: number, isWrite: boolean, size: AccessSize): BusError {
  return new BusError((base + offset) >>> 0, isWrite, size);
}

/** Throws if an access is not naturally aligned (the M0+ faults on these anyway). */
export function checkAligned(base: number, offset: number, isWrite: boolean, size: AccessSize): void {
  if ((offset & (size - 1)) !== 0) throw busError(base, offset, isWrite, size);
}

/** Bits `[lsb, lsb + width)` of `value`. */
export function field(value: number, lsb: number, width: number): number {
  return (value >>> lsb) & ((1 << width) - 1);
}

/** The value of a single bit as a boolean. */
export function bit(value: number, n: number): boolean {
  return ((value >>> n) & 1) === 1;
}
