import { DriverError } from '../transport/errors.ts';

export type SerialErrorKind = 'overrun' | 'framing' | 'noise' | 'parity';

/**
 * USART1 reported a reception error (ISR ORE, FE, NE or PE). The flags
 * have been cleared; for an overrun the byte in RDR is still valid and the
 * next read returns it, and at least one byte after it was lost.
 */
export class SerialError extends DriverError {
  override name = 'SerialError';
  readonly kinds: SerialErrorKind[];
  constructor(readonly isrFlags: number) {
    const kinds: SerialErrorKind[] = [];
    if (isrFlags & (1 << 3)) kinds.push('overrun');
    if (isrFlags & (1 << 1)) kinds.push('framing');
    if (isrFlags & (1 << 2)) kinds.push('noise');
    if (isrFlags & (1 << 0)) kinds.push('parity');
    super(
      `USART1 reception error: ${kinds.join(', ')}. ` +
        (kinds.includes('overrun')
          ? 'Bytes arrived faster than they were read: read more often or use DMA reception. '
          : '') +
        (kinds.some((k) => k !== 'overrun')
          ? 'Check that both ends use the same baud rate, frame format and wiring.'
          : ''),
    );
    this.kinds = kinds;
  }
}
