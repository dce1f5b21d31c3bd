/**
 * The far end of USART1's wire: a virtual device the caller drives, or a
 * loopback plug joining TX to RX. The peer is a device with its own line
 * rate (115200 baud unless the board's options or `baudRate` say
 * otherwise): it sends at that rate and samples what the board sends at
 * it, so a firmware or host that sets USART1 to another rate than the
 * device's garbles both ways beyond the receivers' tolerance, as on a real
 * wire (see uart-waveform.ts). 'follow-board' makes it match USART1
 * whatever its rate.
 */
import { garbled, sameRate, sampleLine } from '../stm32g071/uart-waveform.ts';
import type { Usart } from '../stm32g071/usart.ts';

export type InjectedError = 'framing' | 'noise' | 'parity';

export interface ReceivedByte {
  readonly byte: number;
  /** Virtual time when its stop bit finished, ns. */
  readonly timeNs: number;
  /** The peer's receiver sampled the stop bit low (the board sent at another rate). */
  readonly framingError?: boolean;
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
  /** The peer's own line rate (default 115200), or 'follow-board': it matches USART1 whatever its rate. */
  baudRate: number | 'follow-board';
}

export type Usart1Wiring = 'peer' | 'loopback';

/** The virtual peer's line rate unless told otherwise: the common default of serial devices. */
export const DEFAULT_PEER_BAUD_RATE = 115_200;

/** Received bytes a peer keeps by default (about 20 s at 115200 baud, some 10 MB). */
export const DEFAULT_PEER_LOG_LIMIT = 1 << 18;

/** Owns USART1's wire: routes TX to the peer or back to RX, and RX from the peer. */
export class Usart1Wire implements SerialPeer {
  /** What the peer received, oldest first: bytes, times and framing errors, `logged` of them. */
  private logBytes = new Uint8Array(1024);
  private logTimes = new Float64Array(1024);
  private logErrors = new Uint8Array(1024);
  private logged = 0;
  private readonly listeners = new Set<(byte: number, timeNs: number) => void>();
  private wiring: Usart1Wiring;
  private rate: number | 'follow-board' = DEFAULT_PEER_BAUD_RATE;
  /** Characters the board sent at a rate the peer does not listen at, until the line goes idle. */
  private foreign: { bytes: number[]; endNs: number[]; bitNs: number } | undefined;
  /** USART1's characters arrived garbled at the peer: the two rates differ beyond tolerance. */
  onRateMismatch: ((usartBitNs: number, peerBitNs: number) => void) | undefined;

  constructor(
    private readonly usart: Usart,
    wiring: Usart1Wiring,
    private readonly wake: () => void,
    private readonly logLimit = DEFAULT_PEER_LOG_LIMIT,
    baudRate: number | 'follow-board' = DEFAULT_PEER_BAUD_RATE,
  ) {
    this.wiring = wiring;
    this.rate = checkRate(baudRate);
    usart.onTransmit = (byte, timeNs) => {
      if (this.wiring !== 'peer') return;
      const boardBit = usart.bitNs();
      const peerBit = this.peerBitNs;
      if (boardBit === undefined || peerBit === undefined || sameRate(boardBit, peerBit)) {
        this.hear(byte, timeNs, false);
        return;
      }
      // Another rate: sample the run of characters once the line goes idle.
      if (this.foreign && !sameRate(this.foreign.bitNs, boardBit)) this.settleForeign(timeNs);
      this.foreign ??= { bytes: [], endNs: [], bitNs: boardBit };
      this.foreign.bytes.push(byte);
      this.foreign.endNs.push(timeNs);
      if (!usart.transmitting) this.settleForeign(timeNs);
    };
    // At the peer's own rate each byte arrives as sent, with its time: the
    // peer may hear them in batches.
    usart.transmitTiming = () => {
      const boardBit = usart.bitNs();
      const peerBit = this.peerBitNs;
      return boardBit === undefined || peerBit === undefined || sameRate(boardBit, peerBit)
        ? 'batched'
        : 'each';
    };
    usart.onTransmitStart = wiring === 'loopback' ? this.loopStart : undefined;
  }

  // In loopback the RX side samples the same frame as it leaves, so the
  // character starts arriving as it starts leaving and both end together.
  // The wire carries only what TX drives now: a character still arriving
  // was cut short by a reset of the transmitter, and is lost.
  private readonly loopStart = (byte: number): void => {
    this.usart.cutRxWire();
    this.usart.receive(byte);
  };

  get mode(): Usart1Wiring {
    return this.wiring;
  }

  set mode(mode: Usart1Wiring) {
    // What the board sent so far went where the wire went then.
    this.usart.settle();
    this.wiring = mode;
    this.usart.onTransmitStart = mode === 'loopback' ? this.loopStart : undefined;
  }

  get baudRate(): number | 'follow-board' {
    return this.rate;
  }

  set baudRate(rate: number | 'follow-board') {
    const checked = checkRate(rate);
    // What the board sent so far was heard at the rate the peer had then.
    this.usart.listenersChanged();
    this.rate = checked;
  }

  inject(bytes: Uint8Array | readonly number[]): void {
    const bit = this.peerBitNs;
    const options = bit === undefined ? {} : { senderBitNs: bit };
    this.usart.receiveBytes(Uint8Array.from(bytes), options);
    this.wake();
  }

  private get peerBitNs(): number | undefined {
    return this.rate === 'follow-board' ? undefined : 1e9 / this.rate;
  }

  private hear(byte: number, timeNs: number, framingError: boolean): void {
    let n = this.logged;
    if (n === this.logBytes.length) this.growLog();
    this.logBytes[n] = byte;
    this.logTimes[n] = timeNs;
    this.logErrors[n] = framingError ? 1 : 0;
    this.logged = ++n;
    // Trim in halves, so the cost per byte stays constant.
    if (n > this.logLimit) {
      const keep = this.logLimit >> 1;
      this.logBytes.copyWithin(0, n - keep, n);
      this.logTimes.copyWithin(0, n - keep, n);
      this.logErrors.copyWithin(0, n - keep, n);
      this.logged = keep;
    }
    for (const l of this.listeners) l(byte, timeNs);
  }

  private growLog(): void {
    const size = 2 * this.logBytes.length;
    const bytes = new Uint8Array(size);
    const times = new Float64Array(size);
    const errors = new Uint8Array(size);
    bytes.set(this.logBytes);
    times.set(this.logTimes);
    errors.set(this.logErrors);
    this.logBytes = bytes;
    this.logTimes = times;
    this.logErrors = errors;
  }

  /** What the peer's receiver makes of a run sent at another rate. */
  private settleForeign(timeNs: number): void {
    const run = this.foreign;
    const peerBit = this.peerBitNs;
    this.foreign = undefined;
    if (!run || peerBit === undefined) return;
    const heard = sampleLine(run.bytes, run.bitNs, peerBit);
    if (!garbled(run.bytes, heard)) {
      // Within the receiver's tolerance: each byte arrives as sent, when its stop bit ended.
      for (const [i, b] of run.bytes.entries()) this.hear(b, run.endNs[i]!, false);
      return;
    }
    this.onRateMismatch?.(run.bitNs, peerBit);
    const startNs = run.endNs[0]! - 10 * run.bitNs;
    for (const c of heard) this.hear(c.byte, Math.min(timeNs, startNs + c.atNs), c.framingError);
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
    this.usart.settle();
    const out: ReceivedByte[] = new Array(this.logged);
    for (let i = 0; i < this.logged; i++) {
      const byte = this.logBytes[i]!;
      const timeNs = this.logTimes[i]!;
      out[i] = this.logErrors[i] ? { byte, timeNs, framingError: true } : { byte, timeNs };
    }
    return out;
  }

  onByte(callback: (byte: number, timeNs: number) => void): () => void {
    // A listener hears what is sent from now on, and until it leaves.
    this.usart.settle();
    this.listeners.add(callback);
    return () => {
      this.usart.settle();
      this.listeners.delete(callback);
    };
  }

  clear(): void {
    this.usart.settle();
    this.logged = 0;
    this.usart.clearRxWire();
  }
}

function checkRate(rate: number | 'follow-board'): number | 'follow-board' {
  if (rate !== 'follow-board' && (!Number.isInteger(rate) || rate <= 0))
    throw new RangeError(`a baud rate is a positive whole number, not ${rate}`);
  return rate;
}
