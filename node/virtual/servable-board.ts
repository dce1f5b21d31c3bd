/**
 * What the servers need of a board: its ST-LINK port and USART1's far end.
 * The emulator's VirtualBoard fits; tests use a small fake.
 */
import type { Transport } from '../transport/transport-shape.ts';

export interface ServablePeer {
  /** Sends bytes to the board's USART1 RX. */
  inject(bytes: Uint8Array): void;
  /** Called for each byte the board's USART1 transmits; returns an unsubscribe function. */
  onByte(callback: (byte: number) => void): () => void;
}

/** A host port as the servers use it. */
export interface ServedPort extends Transport {
  /** Drops what was written that the board has not yet started to receive. */
  discardUnsent?(): void;
}

export interface ServableBoard {
  /**
   * Opens USART2 (the ST-LINK virtual COM port); one at a time, closed by
   * its Transport's close(). A served port follows the board's rate: the
   * client's end (a TCP socket, a pseudo-terminal) has no rate of its own.
   */
  hostPort(options: { baudRate: 'follow-board' }): ServedPort;
  readonly peer: ServablePeer;
}
