/**
 * A stand-in board for the servers' tests: its ST-LINK port echoes what it
 * gets, one port at a time like the real one, and its USART1 peer records
 * injected bytes and transmits on demand.
 */
import { createMemoryTransportPair } from '../../driver/transport/memory-pair.ts';
import type { Transport } from '../transport/transport-shape.ts';
import type { ServableBoard } from '../virtual/servable-board.ts';

export class EchoBoard implements ServableBoard {
  /** How many host ports have been opened. */
  opened = 0;
  /** Bytes injected on USART1 RX. */
  readonly injected: number[] = [];
  private portOpen = false;
  private readonly listeners = new Set<(byte: number) => void>();

  readonly peer = {
    inject: (bytes: Uint8Array): void => {
      this.injected.push(...bytes);
    },
    onByte: (callback: (byte: number) => void): (() => void) => {
      this.listeners.add(callback);
      return () => this.listeners.delete(callback);
    },
  };

  get isPortOpen(): boolean {
    return this.portOpen;
  }

  hostPort(_options?: { baudRate: 'follow-board' }): Transport {
    if (this.portOpen) throw new Error('the host port is already open');
    this.portOpen = true;
    this.opened++;
    const { host, device } = createMemoryTransportPair();
    void device.readable
      .pipeTo(device.writable)
      .catch(() => {})
      .finally(() => {
        this.portOpen = false;
      });
    return host;
  }

  /** The board's USART1 sends these bytes to its peer. */
  transmit(bytes: readonly number[]): void {
    for (const byte of bytes) for (const listener of this.listeners) listener(byte);
  }
}
