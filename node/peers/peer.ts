/**
 * The far end of USART1's wire, whatever it is: the virtual board's peer,
 * a USB-serial adapter wired to PC4/PC5, or the board itself through a
 * PC4–PC5 loopback jumper. Programs that need "somebody on the other end"
 * (the CLI's --inject, the demo, the conformance suite) speak to this one
 * shape, so they run unchanged on every board.
 */

export type PeerKind = 'virtual' | 'serial-port' | 'loopback';

/** What the peer heard from the board's TX. */
export interface PeerReceived {
  readonly bytes: Uint8Array;
  /** Virtual time each byte's stop bit ended, ns (the virtual peer only). */
  readonly virtualTimesNs?: readonly number[];
}

export interface Listening {
  /** Resolves with the `count` bytes once they all arrived; rejects on timeout. */
  readonly received: Promise<PeerReceived>;
  /** Stops listening early; `received` rejects if it had not resolved. */
  cancel(): Promise<void>;
}

export interface ListenOptions {
  /** Real time to wait for every byte; default 10 s. */
  readonly timeoutMs?: number;
}

export interface UsartPeer {
  readonly kind: PeerKind;
  /** Says who is on the other end, for messages. */
  readonly description: string;
  /** Makes `bytes` arrive at the board's USART1 RX; resolves once they are on the wire. */
  send(bytes: Uint8Array): Promise<void>;
  /**
   * Starts listening for the next `count` bytes the board transmits; resolves
   * once listening has begun, so the board may send right after.
   */
  listen(count: number, options?: ListenOptions): Promise<Listening>;
  /** Lets go of whatever the peer holds (a serial port, a DMA channel). */
  close(): Promise<void>;
}

export class PeerTimeoutError extends Error {
  override name = 'PeerTimeoutError';
  constructor(
    readonly description: string,
    readonly got: number,
    readonly expected: number,
    readonly timeoutMs: number,
  ) {
    super(
      `${description} received ${got} of ${expected} bytes within ${timeoutMs} ms; ` +
        'check the wiring (board TX PC4 → peer RX) and that both ends use the same baud rate',
    );
  }
}

export const DEFAULT_LISTEN_TIMEOUT_MS = 10_000;

/** A shared peer lent to one user: its close() lets go of nothing, the owner closes the peer. */
export function borrowed(peer: UsartPeer): UsartPeer {
  return {
    kind: peer.kind,
    description: peer.description,
    send: (bytes) => peer.send(bytes),
    listen: (count, options) => peer.listen(count, options),
    close: async () => {},
  };
}
