/**
 * The bus seen by bus masters (the CPU core and DMA controllers).
 *
 * The core knows nothing of any chip: a chip description maps memories and
 * memory-mapped devices onto a `SystemBus` and hands the core a `Bus`.
 */

/** Access width in bytes. */
export type AccessSize = 1 | 2 | 4;

/**
 * A memory-mapped device (a peripheral's register block). Offsets are relative
 * to the device's base address. Values are unsigned and fit in `size` bytes.
 * A device that does not decode an offset or a width throws `BusError`
 * (through `BusError.at`), which the CPU turns into a HardFault and a DMA
 * controller into a transfer error.
 */
export interface MemoryMappedDevice {
  readonly name: string;
  read(offset: number, size: AccessSize): number;
  write(offset: number, value: number, size: AccessSize): void;
  /**
   * Reads as a debugger does: the value `read` would return, without its
   * side effects (a USART's RDR keeps its character). A device whose reads
   * have no side effects may leave it out; `read` answers then.
   */
  peek?(offset: number, size: AccessSize): number;
}

/** A device's debugger read: `peek` where the device has one, else `read`. */
export function peekDevice(device: MemoryMappedDevice, offset: number, size: AccessSize): number {
  return device.peek ? device.peek(offset, size) : device.read(offset, size);
}

/** An access to an address nothing answers at. */
export class BusError extends Error {
  constructor(
    readonly address: number,
    readonly isWrite: boolean,
    readonly size: AccessSize,
  ) {
    super(
      `bus error: ${isWrite ? 'write' : 'read'} of ${size} byte(s) at 0x${(address >>> 0).toString(16).padStart(8, '0')}`,
    );
    this.name = 'BusError';
  }
}

/** What a bus master sees: byte-addressed, little-endian, throws `BusError`. */
export interface Bus {
  read(address: number, size: AccessSize): number;
  write(address: number, value: number, size: AccessSize): void;
}

/** Told of every access made through a bus (by a DMA, or the core to a device), before it is made. */
export type BusAccessObserver = (address: number, size: AccessSize, isWrite: boolean) => void;
