/**
 * Writes that RM0444 forbids but silicon takes without a word: a read-only
 * register written (ignored), reserved bits set away from their reset value
 * ("must be kept at reset value": their effect is undefined). The strict
 * board reports them; the write then goes on to the model, which ignores
 * what the chip ignores. Register masks come from ST's SVD
 * (register-masks.ts, generated).
 */
import { type AccessSize, type MemoryMappedDevice, peekDevice } from '../core/bus.ts';
import { REGISTER_MASKS } from './register-masks.ts';
import type { StrictMonitor } from './strict.ts';

/**
 * Data registers whose upper bits are not checked: a DMA with PSIZE = 32
 * writes whole words to TDR, and the USART takes TDR[8:0] (RM0444 §10.4.6,
 * "Programmable data transfer width").
 */
const DATA_REGISTERS = new Set(['TDR']);

const hex = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** Wraps `device` (registers as `peripheral` in the SVD) so its writes are checked. */
export function checkedWrites(
  device: MemoryMappedDevice,
  peripheral: string,
  strict: StrictMonitor,
): MemoryMappedDevice {
  const masks = REGISTER_MASKS[peripheral];
  if (!masks) throw new Error(`no register masks for ${peripheral}`);
  return {
    name: device.name,
    read: (offset: number, size: AccessSize) => device.read(offset, size),
    peek: (offset: number, size: AccessSize) => peekDevice(device, offset, size),
    write(offset: number, value: number, size: AccessSize): void {
      const reg = masks[offset & ~3];
      if (reg) {
        const shift = 8 * (offset & 3);
        const lanes = size === 4 ? 0xffff_ffff : (((1 << (8 * size)) - 1) << shift) >>> 0;
        const written = (value << shift) & lanes;
        if (reg.readOnly) {
          strict.report(
            'reserved-bits',
            device.name,
            `${reg.name} is read-only: the write of ${hex(written)} is ignored`,
          );
        } else if (!DATA_REGISTERS.has(reg.name)) {
          const bad = ((written ^ reg.reset) & ~reg.fields & lanes) >>> 0;
          if (bad !== 0)
            strict.report(
              'reserved-bits',
              device.name,
              `${reg.name} written with reserved bits ${hex(bad)} away from their reset value (${hex(written)}); RM0444: reserved bits must be kept at reset value`,
            );
        }
      }
      device.write(offset, value, size);
    },
  };
}
