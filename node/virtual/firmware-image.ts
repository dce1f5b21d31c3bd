/**
 * What a --firmware file is, before the virtual board is given it: an ELF
 * executable (loaded by its segments' addresses), or a raw flash image such
 * as bridge.bin (placed at the start of flash). A raw image has no header,
 * so it is recognised by its Cortex-M vector table: the initial stack
 * pointer in SRAM and the reset handler a Thumb address in flash (RM0444
 * 2.5: the G0 boots from main flash at 0x0800 0000). Anything else, an Intel
 * HEX file among them, is refused with what to give instead.
 */
import { FLASH_BASE, FLASH_SIZE, SRAM_BASE, SRAM_SIZE } from '../../emulator/index.ts';

export type FirmwareImageKind = 'elf' | 'raw';

export type FirmwareVerdict =
  | { readonly ok: true; readonly kind: FirmwareImageKind }
  | { readonly ok: false; readonly why: string };

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function classifyFirmware(bytes: Uint8Array): FirmwareVerdict {
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return { ok: true, kind: 'elf' };
  if (
    bytes[0] === 0x3a /* ':' */ &&
    /^:[0-9A-Fa-f]{10}/.test(new TextDecoder().decode(bytes.subarray(0, 16)))
  ) {
    return { ok: false, why: 'is an Intel HEX file' };
  }
  if (bytes.length >= 8 && bytes.length <= FLASH_SIZE) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const stack = view.getUint32(0, true);
    const reset = view.getUint32(4, true);
    const stackInSram = stack > SRAM_BASE && stack <= SRAM_BASE + SRAM_SIZE && stack % 4 === 0;
    const resetInImage =
      (reset & 1) === 1 && reset - 1 >= FLASH_BASE + 8 && reset - 1 < FLASH_BASE + bytes.length;
    if (stackInSram && resetInImage) return { ok: true, kind: 'raw' };
  }
  if (bytes.length > FLASH_SIZE)
    return {
      ok: false,
      why: `is not an ELF file, and too large for the flash (${FLASH_SIZE / 1024} KiB) to be a raw image`,
    };
  return {
    ok: false,
    why: 'is neither an ELF file nor a raw flash image for the STM32G071 (no vector table at its start)',
  };
}
