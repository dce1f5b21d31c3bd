/**
 * Writes checked against the registers' fields (register-fields.ts, from
 * ST's SVD): RM0444 says reserved bits "must be kept at reset value" and a
 * read-only register ignores writes. Silicon does not complain; the strict
 * board reports the write and the device behaves as before (a model keeps
 * its reserved bits at their reset value and ignores what it does not
 * decode). A register where only some fields are read-only is not checked
 * for them: a read-modify-write can race a status bit and write back a
 * value that changed meanwhile, which is harmless. Nor are the reserved
 * bits of write-only flag-clear registers (USART_ICR, DMA_IFCR, RCC_CICR...):
 * `ICR = 0xFFFFFFFF`, "clear every flag", is a common idiom that writing 1
 * to a reserved clear bit cannot harm. Nor a USART's TDR: a DMA channel
 * with 16- or 32-bit items writes whole items into it, and the USART takes
 * the low bits (RM0444 §10.4.8 "Programmable data width").
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import { REGISTER_FIELDS } from './register-fields.ts';
import type { StrictMonitor } from './strict.ts';

const hex = (n: number) => `0x${(n >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** Wraps devices so writes to reserved bits or read-only registers are reported. */
export function checkedWrites(
  strict: StrictMonitor,
): (device: MemoryMappedDevice, svdName: string, displayName: string) => MemoryMappedDevice {
  return (device, svdName, displayName) => {
    const registers = REGISTER_FIELDS[svdName];
    if (!registers) throw new Error(`no register fields for ${svdName}`);
    return {
      name: device.name,
      read: (offset: number, size: AccessSize) => device.read(offset, size),
      write(offset: number, value: number, size: AccessSize): void {
        const reg = registers.get(offset & ~3);
        if (reg && reg.name !== 'TDR') {
          const shift = (offset & 3) * 8;
          const lanes = size === 4 ? 0xffff_ffff : ((size === 2 ? 0xffff : 0xff) << shift) >>> 0;
          const written = ((value << shift) & lanes) >>> 0;
          const name = reg.name.includes('_') ? reg.name : `${displayName}_${reg.name}`;
          if (reg.readOnly)
            strict.report(
              'reserved-bits',
              displayName,
              `${name} written (${hex(written)}): the register is read-only, the write is ignored`,
            );
          else if (!reg.writeOnly) {
            const wrong = (written ^ reg.reservedReset) & ~reg.fields & lanes;
            if (wrong !== 0)
              strict.report(
                'reserved-bits',
                displayName,
                `${name} written with reserved bits ${hex(wrong)} away from their reset value (${hex(written)}): RM0444 says reserved bits must be kept at reset value`,
              );
          }
        }
        device.write(offset, value, size);
      },
    };
  };
}
