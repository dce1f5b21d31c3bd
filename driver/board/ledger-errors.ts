/** Errors of the arena ledger: memory it will not lend, aim a DMA at, or let raw access overwrite. */

import { DriverError } from '../driver-error.ts';

/**
 * The ledger refused a transition: memory aimed at that it did not lend, a
 * region freed or lent in the wrong state. A correct program never sees
 * it; it means an object was tampered with or a driver bug.
 */
export class LedgerError extends DriverError {
  override name = 'LedgerError';
}

/**
 * A raw memory write (board.raw.writeMemory) over memory the ledger holds:
 * a DmaBuffer owns it, a transfer has it, or a DMA may be running on it.
 */
export class RawWriteRefusedError extends DriverError {
  override name = 'RawWriteRefusedError';
  constructor(
    readonly address: number,
    readonly length: number,
    readonly held: readonly { address: number; length: number; state: string; holder?: string }[],
  ) {
    const first = held[0]!;
    super(
      `board.raw.writeMemory of ${length} bytes at 0x${address.toString(16)} refused: it overlaps ` +
        `${first.length} bytes at 0x${first.address.toString(16)} that are ${first.state}` +
        (first.holder ? ` (${first.holder})` : '') +
        '; write through the DmaBuffer that owns the memory, or to free arena memory',
    );
  }
}
