/**
 * USART2 as the ST-LINK virtual COM port: a Transport (Web Streams) for the
 * host. The port has its own line rate, as a USB-serial bridge has
 * (`setBaudRate`, like serialport's `update({ baudRate })`): bytes the host
 * writes go on USART2's RX wire as 8N1 characters at that rate, one
 * character time apart, and a write resolves once the wire queue is short
 * again (USB flow control). Bytes the firmware transmits are handed to
 * `readable` as they finish. When the two rates differ, each side receives
 * what its receiver samples from the other's waveform (uart-waveform.ts):
 * framing errors and garbage, as on a real line. A character the host
 * receives with a framing error reads as 0x00, as a POSIX terminal without
 * IGNPAR or PARMRK delivers it (termios(3)).
 *
 * With `usbFrameNs`, the port also models a full-speed USB link's frames:
 * the host's bytes reach the bridge, and the board's reach the host, only
 * at the next frame boundary (1 ms on USB full speed).
 */
import type { Clock } from '../core/clock.ts';
import { garbled, sameRate, sampleLine } from '../stm32g071/uart-waveform.ts';
import type { Usart } from '../stm32g071/usart.ts';

/** Structurally the driver's Transport. */
export interface HostPort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): Promise<void>;
  readonly info: { readonly kind: 'virtual-board'; readonly description: string };
  /** Changes the host side's line rate, as serialport's update({ baudRate }). */
  setBaudRate(baud: number): Promise<void>;
  /** The host side's line rate now. */
  readonly baudRate: number;
  /** The highest rate setBaudRate takes (the USB-serial bridge's limit), if any. */
  readonly maxBaudRate?: number | undefined;
  /** Drops what the host sent that USART2 has not started to receive (a served client that left). */
  discardUnsent?(): void;
}

export interface HostPortOptions {
  /**
   * The host side's rate when the port opens (default 115200, the bridge's
   * boot rate), or 'follow-board': the host side always runs at USART2's
   * rate, as a link without a line rate of its own (a board served on TCP
   * or a pseudo-terminal, whose client's rate changes reach nobody).
   */
  baudRate?: number | 'follow-board';
  /** The highest rate the host side can run at (default: none). */
  maxBaudRate?: number | undefined;
  /** USB frame period, ns, to model (none by default). */
  usbFrameNs?: number;
}

/** What the port needs of the board besides USART2. */
export interface HostPortWiring {
  readonly clock: Clock;
  /** Wakes the board's run loop: host input arrived. */
  wake(): void;
  /** Ends the board's current slice soon: bytes are due to the host. */
  yieldSoon(): void;
  onClose(port: HostSerialPort): void;
  /** USART2's characters arrived garbled at the host: its rate and the host's differ beyond tolerance. */
  onRateMismatch?(usartBitNs: number, hostBitNs: number): void;
}

/**
 * Characters a host write may leave waiting for the wire before it blocks:
 * the host's serial driver takes whole writes into its buffer (Linux's tty
 * layer takes 4 KiB) and the ST-LINK's USB endpoint keeps its UART fed from
 * it, so the line does not idle between a host's writes.
 */
const WIRE_HIGH_WATER = 4096;

const DEFAULT_BAUD = 115_200;

interface Outgoing {
  byte: number;
  /** Virtual time from which the host may have it, ns. */
  dueNs: number;
}

export class HostSerialPort implements HostPort {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly info = {
    kind: 'virtual-board',
    description: 'virtual Nucleo-G071RB, USART2 (ST-LINK VCP)',
  } as const;
  readonly maxBaudRate: number | undefined;
  private baud: number;
  private readonly followBoard: boolean;
  private readonly usbFrameNs: number | undefined;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private outgoing: Outgoing[] = [];
  /** Characters USART2 sent at a rate other than the host's, not yet sampled: [byte, bit time, ns]. */
  private foreign: { bytes: number[]; bitNs: number; dueNs: number } | undefined;
  /** Host bytes waiting for the next USB frame. */
  private waitingForFrame = 0;
  private deliveryDueNs = -1;
  private readonly blockedWrites: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private closed = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly usart: Usart,
    private readonly wiring: HostPortWiring,
    options: HostPortOptions = {},
  ) {
    this.followBoard = options.baudRate === 'follow-board';
    this.baud = checkBaud(
      options.baudRate === undefined || options.baudRate === 'follow-board' ? DEFAULT_BAUD : options.baudRate,
      options.maxBaudRate,
    );
    this.maxBaudRate = options.maxBaudRate;
    this.usbFrameNs = options.usbFrameNs;
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.controller = undefined;
      },
    });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => {},
      abort: () => {},
    });
  }

  get baudRate(): number {
    if (this.followBoard) {
      const bit = this.usart.bitNs();
      return bit === undefined ? this.baud : Math.round(1e9 / bit);
    }
    return this.baud;
  }

  /** Characters already on the wire keep the rate they were sent at. */
  setBaudRate(baud: number): Promise<void> {
    try {
      this.baud = checkBaud(baud, this.maxBaudRate);
    } catch (error) {
      return Promise.reject(error);
    }
    this.settleForeign();
    return Promise.resolve();
  }

  /** The board calls this for each byte USART2 finishes sending. */
  transmitted(byte: number): void {
    if (this.closed || !this.controller) return;
    const now = this.wiring.clock.nowNs;
    const dueNs = this.frameBoundary(now);
    const usartBit = this.usart.bitNs() ?? this.hostBitNs;
    if (sameRate(usartBit, this.hostBitNs)) {
      this.settleForeign();
      this.outgoing.push({ byte, dueNs });
    } else {
      if (this.foreign && !sameRate(this.foreign.bitNs, usartBit)) this.settleForeign();
      this.foreign ??= { bytes: [], bitNs: usartBit, dueNs };
      this.foreign.bytes.push(byte);
      this.foreign.dueNs = dueNs;
    }
    if (dueNs > now) this.deliverAt(dueNs);
  }

  /** Whether the port models USB frames (`usbFrameNs`): the board's bytes are due at frame boundaries. */
  get timesFrames(): boolean {
    return this.usbFrameNs !== undefined;
  }

  /** Hands output that is due to the reader and lets blocked writes go on. The board calls it between slices. */
  flush(): void {
    this.settleForeign();
    const now = this.wiring.clock.nowNs;
    let n = 0;
    while (n < this.outgoing.length && this.outgoing[n]!.dueNs <= now) n++;
    if (n > 0 && this.controller && !this.closed) {
      this.controller.enqueue(Uint8Array.from(this.outgoing.slice(0, n), (o) => o.byte));
    }
    this.outgoing = n === this.outgoing.length ? [] : this.outgoing.slice(n);
    while (this.blockedWrites.length > 0 && this.wirePending <= WIRE_HIGH_WATER)
      this.blockedWrites.shift()!.resolve();
  }

  discardUnsent(): void {
    this.usart.clearRxWire();
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.settleForeign();
      for (const o of this.outgoing) o.dueNs = 0;
      this.flush();
      this.closed = true;
      for (const w of this.blockedWrites.splice(0)) w.reject(new Error('port closed'));
      try {
        this.controller?.close();
      } catch {
        // Already closed or errored by the reader: nothing left to end.
      }
      this.controller = undefined;
      if (!this.writable.locked) await this.writable.close().catch(() => {});
      this.wiring.onClose(this);
      this.resolveClosed();
    }
    return this.closedPromise;
  }

  private get hostBitNs(): number {
    if (this.followBoard) return this.usart.bitNs() ?? 1e9 / this.baud;
    return 1e9 / this.baud;
  }

  private get wirePending(): number {
    return this.usart.rxPending + this.waitingForFrame;
  }

  /** The first USB frame boundary at or after `ns` (`ns` itself without the USB model). */
  private frameBoundary(ns: number): number {
    const frame = this.usbFrameNs;
    return frame ? Math.ceil(ns / frame) * frame : ns;
  }

  /** Ends a slice at `dueNs`, so the host gets its bytes then. */
  private deliverAt(dueNs: number): void {
    if (this.deliveryDueNs === dueNs) return;
    this.deliveryDueNs = dueNs;
    this.wiring.clock.schedule(dueNs - this.wiring.clock.nowNs, () => this.wiring.yieldSoon());
  }

  /** What the host's receiver makes of characters sent at another rate. */
  private settleForeign(): void {
    const run = this.foreign;
    if (!run) return;
    this.foreign = undefined;
    const heard = sampleLine(run.bytes, run.bitNs, this.hostBitNs);
    if (garbled(run.bytes, heard)) this.wiring.onRateMismatch?.(run.bitNs, this.hostBitNs);
    for (const c of heard) {
      this.outgoing.push({ byte: c.framingError ? 0 : c.byte, dueNs: run.dueNs });
    }
  }

  private write(chunk: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('port closed'));
    // Following the board, the bytes go at whatever rate USART2 has when they start.
    const options = this.followBoard ? {} : { senderBitNs: this.hostBitNs };
    const put = (bytes: Uint8Array) => this.usart.receiveBytes(bytes, options);
    const clock = this.wiring.clock;
    const due = this.frameBoundary(clock.nowNs);
    if (due > clock.nowNs) {
      const bytes = chunk.slice();
      this.waitingForFrame += bytes.length;
      clock.schedule(due - clock.nowNs, () => {
        this.waitingForFrame -= bytes.length;
        if (!this.closed) put(bytes);
      });
    } else {
      put(chunk);
    }
    this.wiring.wake();
    if (this.wirePending <= WIRE_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve, reject) => this.blockedWrites.push({ resolve, reject }));
  }
}

function checkBaud(baud: number, max: number | undefined): number {
  if (!Number.isInteger(baud) || baud <= 0) {
    throw new RangeError(`a baud rate is a positive whole number, not ${baud}`);
  }
  if (max !== undefined && baud > max) {
    throw new RangeError(`${baud} baud is above this port's highest rate, ${max} baud`);
  }
  return baud;
}
