/**
 * The far end of USART1's wire: a virtual device the caller drives, or a
 * loopback plug joining TX to RX. Characters the peer injects queue on the
 * RX wire and arrive one character time apart, at the USART's own rate.
 */
import type { Usart } from '../stm32g071/usart.ts';

export type InjectedError = 'framing' | 'noise' | 'parity';

export interface ReceivedByte {
  readonly byte: number;
  /** Virtual time when its stop bit finished, ns. */
  readonly timeNs: number;
}

/** The caller's side of USART1 when it is wired to a virtual peer. */
export interface SerialPeer {
  /** Sends bytes to the board's RX, back to back at the line rate. */
  inject(bytes: Uint8Array | readonly number[]): void;
  /** Sends one character received with an error (default byte 0x00). */
  injectError(kind: InjectedError, byte?: number): void;
  /**
   * What the board has transmitted so far (since the last clear), up to the
   * board's `peerLogLimit` most recent bytes: a long-running board must not
   * grow without bound. `onByte` sees every byte.
   */
  received(): ReceivedByte[];
  /** Called for each byte the board transmits; returns an unsubscribe function. */
  onByte(callback: (byte: number, timeNs: number) => void): () => void;
  /** Forgets received bytes and drops injected bytes that have not started. */
  clear(): void;
}

export type Usart1Wiring = 'peer' | 'loopback';

/** Received bytes a peer keeps by default (about 20 s at 115200 baud, some 10 MB). */
export const DEFAULT_PEER_LOG_LIMIT = 1 << 18;

/** Owns USART1's wire: routes TX to the peer or back to RX, and RX from the peer. */
export class Usart1Wire implements SerialPeer {
  private log: ReceivedByte[] = [];
  private readonly listeners = new Set<(byte: number, timeNs: number) => void>();
  private wiring: Usart1Wiring;

  constructor(
    private readonly usart: Usart,
    wiring: Usart1Wiring,
    private readonly wake: () => void,
    private readonly logLimit = DEFAULT_PEER_LOG_LIMIT,
  ) {
    this.wiring = wiring;
    usart.onTransmit = (byte, timeNs) => {
      if (this.wiring !== 'peer') return;
      this.log.push({ byte, timeNs });
      // Trim in halves, so the cost per byte stays constant.
      if (this.log.length > this.logLimit) this.log = this.log.slice(this.log.length - (this.logLimit >> 1));
      for (const l of this.listeners) l(byte, timeNs);
    };
    // In loopback the RX side samples the same frame as it leaves, so the
    // character starts arriving as it starts leaving and both end together.
    // The wire carries only what TX drives now: a character still arriving
    // was cut short by a reset of the transmitter, and is lost.
    usart.onTransmitStart = (byte) => {
      if (this.wiring !== 'loopback') return;
      this.usart.cutRxWire();
      this.usart.receive(byte);
    };
  }

  get mode(): Usart1Wiring {
    return this.wiring;
  }

  set mode(mode: Usart1Wiring) {
    this.wiring = mode;
  }

  inject(bytes: Uint8Array | readonly number[]): void {
    for (const b of bytes) this.usart.receive(b & 0xff);
    this.wake();
  }

  injectError(kind: InjectedError, byte = 0): void {
    const options =
      kind === 'framing'
        ? { framingError: true }
        : kind === 'noise'
          ? { noise: true }
          : { parityError: true };
    this.usart.receive(byte & 0xff, options);
    this.wake();
  }

  received(): ReceivedByte[] {
    return this.log.slice();
  }

  onByte(callback: (byte: number, timeNs: number) => void): () => void {
    this.listeners.add(callback);
    return () => this.listeners.delete(callback);
  }

  clear(): void {
    this.log = [];
    this.usart.clearRxWire();
  }
}
