/**
 * The read-only engineering area of system memory: OTP (0x1FFF_7000, 1 KiB,
 * erased), the 96-bit unique device ID at 0x1FFF_7590 and the
 * flash size in KiB at 0x1FFF_75E0 (RM0444, device electronic signature). Mapped as one device over
 * 0x1FFF_7000..0x1FFF_7FFF; other offsets are bus errors, writes too.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { busError, checkAligned } from './mmio.ts';

export const SYSTEM_MEMORY_BASE = 0x1fff_7000;
export const SYSTEM_MEMORY_SIZE = 0x1000;
export const UID_ADDRESS = 0x1fff_7590;
export const FLASH_SIZE_ADDRESS = 0x1fff_75e0;

const OTP_SIZE = 0x400;
const UID_OFFSET = UID_ADDRESS - SYSTEM_MEMORY_BASE;
const FLASH_SIZE_OFFSET = FLASH_SIZE_ADDRESS - SYSTEM_MEMORY_BASE;

/**
 * A plausible default UID: word 0 the wafer X/Y coordinates, word 1 the wafer
 * number and the first lot characters, word 2 the rest of the lot number (ASCII).
 */
export const DEFAULT_UID: readonly [number, number, number] = [0x0030_0042, 0x5346_5007, 0x2035_3238];

export class SystemMemory implements MemoryMappedDevice {
  readonly name = 'SYSTEM_MEMORY';
  private readonly bytes = new Uint8Array(SYSTEM_MEMORY_SIZE).fill(0xff);
  private readonly view = new DataView(this.bytes.buffer);

  constructor(options: { uid?: readonly [number, number, number]; flashSizeKiB?: number } = {}) {
    const uid = options.uid ?? DEFAULT_UID;
    for (const [i, w] of uid.entries()) this.view.setUint32(UID_OFFSET + 4 * i, w >>> 0, true);
    // The flash size register is 16 bits; the upper half-word reads as erased.
    this.view.setUint16(FLASH_SIZE_OFFSET, options.flashSizeKiB ?? 128, true);
  }

  get uid(): [number, number, number] {
    return [0, 1, 2].map((i) => this.view.getUint32(UID_OFFSET + 4 * i, true)) as [number, number, number];
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(SYSTEM_MEMORY_BASE, offset, false, size);
    const inOtp = offset < OTP_SIZE;
    const inUid = offset >= UID_OFFSET && offset < UID_OFFSET + 12;
    const inSize = offset >= FLASH_SIZE_OFFSET && offset < FLASH_SIZE_OFFSET + 4;
    if (!inOtp && !inUid && !inSize) throw busError(SYSTEM_MEMORY_BASE, offset, false, size);
    return size === 1
      ? this.view.getUint8(offset)
      : size === 2
        ? this.view.getUint16(offset, true)
        : this.view.getUint32(offset, true);
  }

  write(offset: number, _value: number, size: AccessSize): void {
    throw busError(SYSTEM_MEMORY_BASE, offset, true, size);
  }
}
