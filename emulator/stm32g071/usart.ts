/**
 * USART1/USART2 (RM0444 §33), FIFO-disabled mode. Characters take real
 * virtual time: one frame is (start + word length + stop) bit times, a bit
 * time being BRR kernel-clock periods (OVER8 = 0) or BRR[15:4]·8 + BRR[2:0]
 * periods (OVER8 = 1) of the prescaled kernel clock (RM0444 §33.5.7). The
 * word length (M1:M0 = 7, 8 or 9 bits) includes the parity bit when PCE = 1.
 *
 * The wire side: `receive()` puts a character on the RX line (it starts now,
 * or right after the characters already on the line, and is sampled one frame
 * later); `onTransmit` hears each character when its stop bit has left.
 */
import type { AccessSize, MemoryMappedDevice } from '../core/bus.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { type InterruptLine, unconnectedLine } from '../core/irq.ts';
import type { BulkHook, UsartBulkPort, UsartBulkState } from './bulk-state.ts';
import { bit, busError, checkAligned, field, laneRead, laneWrite } from './mmio.ts';
import { garbled, type ReceiverSampling, sameRate, sampleLine } from './uart-waveform.ts';
import { type WireCharacter, WireQueue } from './wire-queue.ts';

export const USART1_BASE = 0x4001_3800;
export const USART2_BASE = 0x4000_4400;

export const USART = {
  CR1: 0x00,
  CR2: 0x04,
  CR3: 0x08,
  BRR: 0x0c,
  GTPR: 0x10,
  RTOR: 0x14,
  RQR: 0x18,
  ISR: 0x1c,
  ICR: 0x20,
  RDR: 0x24,
  TDR: 0x28,
  PRESC: 0x2c,
} as const;

export const CR1_UE = 1 << 0;
export const CR1_RE = 1 << 2;
export const CR1_TE = 1 << 3;
export const CR1_IDLEIE = 1 << 4;
export const CR1_RXNEIE = 1 << 5;
export const CR1_TCIE = 1 << 6;
export const CR1_TXEIE = 1 << 7;
export const CR1_PEIE = 1 << 8;
export const CR1_PCE = 1 << 10;
export const CR1_M0 = 1 << 12;
export const CR1_CMIE = 1 << 14;
export const CR1_OVER8 = 1 << 15;
export const CR1_M1 = 1 << 28;
export const CR3_EIE = 1 << 0;
export const CR3_DMAR = 1 << 6;
export const CR3_ONEBIT = 1 << 11;
export const CR3_DMAT = 1 << 7;
export const CR3_OVRDIS = 1 << 12;
export const CR3_DDRE = 1 << 13;

export const ISR_PE = 1 << 0;
export const ISR_FE = 1 << 1;
export const ISR_NE = 1 << 2;
export const ISR_ORE = 1 << 3;
export const ISR_IDLE = 1 << 4;
export const ISR_RXNE = 1 << 5;
export const ISR_TC = 1 << 6;
export const ISR_TXE = 1 << 7;
export const ISR_BUSY = 1 << 16;
export const ISR_CMF = 1 << 17;
export const ISR_TEACK = 1 << 21;
export const ISR_REACK = 1 << 22;
/** ISR out of reset and whenever UE is cleared (RM0444 USART_ISR: TXE and TC set). */
const ISR_RESET = ISR_TXE | ISR_TC;

/**
 * Register bits that "can only be written when the USART is disabled (UE = 0)"
 * (RM0444 USART register descriptions, per field). CR1: M1, DEAT, DEDT, OVER8, M0, WAKE, PCE, PS,
 * FIFOEN. CR2: all but RTOEN. CR3: the mode/overrun/DDRE/driver-enable fields.
 */
const CR1_LOCKED = (1 << 29) | CR1_M1 | (0x3ff << 16) | CR1_OVER8 | CR1_M0 | (1 << 11) | CR1_PCE | (1 << 9);
const CR2_LOCKED = 0xffff_ffff & ~(1 << 23);
const CR3_LOCKED =
  0x2 |
  0x4 |
  0x8 |
  0x10 |
  0x20 |
  (1 << 8) |
  (1 << 9) |
  (1 << 11) |
  CR3_OVRDIS |
  CR3_DDRE |
  (3 << 14) |
  (7 << 17);
/** Writable bits per the SVD field lists. */
const CR1_MASK = 0xffff_ffff;
const CR2_MASK = 0xfffb_ff79;
const CR3_MASK = 0xfff7_ffff;

/**
 * PRESC divisions (RM0444 USART_PRESC: 0000 /1 ... 1011 /256; "remaining
 * combinations: reserved", and a value other than the allowed ones acts as
 * 1011, /256). The strict board reports a reserved value at the write.
 */
const PRESC_DIV = [1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256, 256, 256, 256, 256];
/** First reserved PRESCALER value (1100). */
const PRESC_FIRST_RESERVED = 0xc;
/** Stop bits per CR2.STOP. */
const STOP_BITS = [1, 0.5, 2, 1.5];
/** `frameNs` not yet worked out for the current configuration. */
const FRAME_UNKNOWN = -1;

export interface ReceiveOptions {
  /** The stop bit is sampled low (RM0444 USART_ISR.FE). */
  framingError?: boolean;
  /** Noise detected on the samples (USART_ISR.NE). */
  noise?: boolean;
  /** The parity bit is wrong; only seen when parity is enabled (USART_ISR.PE). */
  parityError?: boolean;
  /**
   * The sender's bit time, ns, for an 8N1 sender with its own clock (the
   * ST-LINK's bridge, a peer): at a rate other than this USART's, the
   * character is sampled from its waveform (uart-waveform.ts) and arrives as
   * what the receiver makes of it. Absent: the sender runs at this USART's
   * rate, whatever it is.
   */
  senderBitNs?: number;
}

export interface UsartOptions {
  name: string;
  clock: Clock;
  irq?: InterruptLine;
  /** DMA request out for transmit (to the DMAMUX input USARTx_TX). */
  txRequest?: InterruptLine;
  /** DMA request out for receive (to the DMAMUX input USARTx_RX). */
  rxRequest?: InterruptLine;
  /** Kernel clock (RCC USARTxSEL), hertz. */
  kernelHz?: number;
  /** Whether the bus clock enable (RCC APBENRx) is on; off loses register writes. */
  clockEnabled?: boolean;
  base?: number;
  /** Whether TX and RX reach their pins (the chip's pin multiplexer); default: always. */
  pins?: UsartPins;
}

/**
 * Where the USART meets its pins. A TX that is not routed to a pin leaves
 * the wire idle (high); an RX that is not routed sees an idle line.
 */
export interface UsartPins {
  txConnected(): boolean;
  rxConnected(): boolean;
  /** Whether TX reaches its pin, without reporting anything (a look ahead); default: txConnected. */
  txRouted?(): boolean;
}

const ALWAYS_CONNECTED: UsartPins = { txConnected: () => true, rxConnected: () => true };

/**
 * Characters on a USART's lines, as they start: the word (undefined for a
 * line busy with something the receiver makes no character of), its bit
 * time and the frame's bits (start + word + stop).
 */
export interface UsartLineObserver {
  tx(word: number, startNs: number, bitNs: number, wordBits: number): void;
  rx(word: number | undefined, startNs: number, frameNs: number, wordBits: number): void;
}

export type TransmitTiming = 'each' | 'batched' | 'batched-until-idle';

export type UsartMisuse =
  /** A write changed a field that can only be written while UE = 0. */
  | 'config-while-enabled'
  /** TDR was written while TXE = 0: the pending character is lost. */
  | 'tdr-overwrite';

export class Usart implements MemoryMappedDevice {
  readonly name: string;
  readonly base: number;
  /** Called when a character's stop bit has left the shift register. */
  onTransmit: ((byte: number, timeNs: number) => void) | undefined;
  /** Called when a character starts leaving (its start bit); used for a loopback wire. */
  get onTransmitStart(): ((byte: number, timeNs: number, frameNs: number) => void) | undefined {
    return this.transmitStart;
  }

  set onTransmitStart(listener: ((byte: number, timeNs: number, frameNs: number) => void) | undefined) {
    // Each start is then seen at its time: a bulk engine hands the timing back first.
    this.bulk?.release();
    this.transmitStart = listener;
  }

  readonly misuse = new Map<UsartMisuse, number>();
  /** Called at each misuse, after it is counted. */
  onMisuse: ((kind: UsartMisuse) => void) | undefined;
  /**
   * Called when characters sent at another rate arrive garbled (beyond the
   * receiver's tolerance), with the sender's and this USART's bit times.
   */
  onRateMismatch: ((senderBitNs: number, ownBitNs: number) => void) | undefined;
  /**
   * Called with what is wrong when a register write or UE = 1 leaves the
   * USART with a value RM0444 forbids or reserves (a baud rate divider
   * below 16, a reserved word length or prescaler). Asked at those moments
   * only, never per character.
   */
  onConfigError: ((what: string) => void) | undefined;
  writesWhileUnclocked = 0;
  /** A signal trace's view of the TX and RX lines (emulator/debug/trace); null: none. */
  get lineObserver(): UsartLineObserver | null {
    return this.lines;
  }

  set lineObserver(observer: UsartLineObserver | null) {
    this.bulk?.release();
    this.lines = observer;
  }

  /**
   * When `onTransmit` must hear characters while a bulk engine runs the
   * USART (asked whenever the engine takes over; absent: 'each'):
   * - 'each': every one at its time;
   * - 'batched': after the fact, in batches, each with its exact time;
   * - 'batched-until-idle': batched, but the last one before the
   *   transmitter goes idle at its time (with all before it heard then).
   */
  transmitTiming: (() => TransmitTiming) | undefined;

  private readonly clock: Clock;
  private readonly irq: InterruptLine;
  private readonly txRequest: InterruptLine;
  private readonly rxRequest: InterruptLine;
  private kernelHz: number;
  private clockEnabled: boolean;
  private readonly pins: UsartPins;
  /** Whether the character being sent reaches the wire. */
  private txOnWire = true;

  private cr1 = 0;
  private cr2 = 0;
  private cr3 = 0;
  private brr = 0;
  private gtpr = 0;
  private rtor = 0;
  private presc = 0;
  private isr = ISR_RESET;
  private rdr = 0;
  private tdr = 0;
  private tdrFull = false;

  private txTimer: TimerHandle | undefined;
  private txIdleFrame = false;
  private txByte = 0;

  private readonly wire = new WireQueue();
  private rxTimer: TimerHandle | undefined;
  /** The character arriving now: whether there is one, its byte (-1: none is made of it), its errors. */
  private rxHas = false;
  private rxByte = 0;
  private rxErrors = 0;
  private rxStartNs = 0;
  private rxListening = false;
  private idleTimer: TimerHandle | undefined;
  private idleArmed = false;

  /** `frameNs()` for the current configuration (undefined: can't run), or FRAME_UNKNOWN. */
  private frameCache: number | undefined = FRAME_UNKNOWN;
  /** Duration of the character on the RX wire, ns. */
  private rxFrameNs = 0;

  private irqLevel = false;
  private txReqLevel = false;
  private rxReqLevel = false;
  /** The bulk engine running this USART's timing, if any (see bulk-engine.ts). */
  private bulk: BulkHook | null = null;
  private transmitStart: ((byte: number, timeNs: number, frameNs: number) => void) | undefined;
  private lines: UsartLineObserver | null = null;

  constructor(options: UsartOptions) {
    this.name = options.name;
    this.base = options.base ?? 0;
    this.clock = options.clock;
    this.irq = options.irq ?? unconnectedLine;
    this.txRequest = options.txRequest ?? unconnectedLine;
    this.rxRequest = options.rxRequest ?? unconnectedLine;
    this.kernelHz = options.kernelHz ?? 16_000_000;
    this.clockEnabled = options.clockEnabled ?? true;
    this.pins = options.pins ?? ALWAYS_CONNECTED;
  }

  /** Peripheral reset: registers to reset values, activity dropped (characters on the wire keep their time). */
  reset(): void {
    this.bulk?.release();
    this.stopActivity();
    this.cr1 = this.cr2 = this.cr3 = this.brr = this.gtpr = this.rtor = this.presc = 0;
    this.rdr = this.tdr = 0;
    this.frameCache = FRAME_UNKNOWN;
    this.update();
  }

  setKernelClockHz(hz: number): void {
    this.bulk?.release();
    this.kernelHz = hz;
    this.frameCache = FRAME_UNKNOWN;
    this.tryStartTx();
  }

  setClockEnabled(on: boolean): void {
    this.bulk?.release();
    this.clockEnabled = on;
    this.frameCache = FRAME_UNKNOWN;
    this.tryStartTx();
    this.update();
  }

  /** The duration of one character with the current configuration, or undefined if the USART can't run. */
  frameNs(): number | undefined {
    if (this.frameCache === FRAME_UNKNOWN) this.frameCache = this.workOutFrameNs();
    return this.frameCache;
  }

  private workOutFrameNs(): number | undefined {
    if (!this.clockEnabled || this.kernelHz <= 0) return undefined;
    const periodsPerBit = this.cr1 & CR1_OVER8 ? (this.brr >>> 4) * 8 + (this.brr & 7) : this.brr & 0xffff;
    if (periodsPerBit < (this.cr1 & CR1_OVER8 ? 8 : 16)) return undefined; // RM0444 §33.5.7: BRR ≥ 16
    const m = ((this.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((this.cr1 & CR1_M0) !== 0 ? 1 : 0);
    const word = m === 0 ? 8 : m === 1 ? 9 : 7;
    const stop = STOP_BITS[field(this.cr2, 12, 2)]!;
    return ((1 + word + stop) * periodsPerBit * PRESC_DIV[this.presc & 0xf]! * 1e9) / this.kernelHz;
  }

  /** Puts a character on the RX wire; it completes one frame after the line is free for it. */
  receive(byte: number, options: ReceiveOptions = {}): void {
    // An unrouted RX input idles high. Asked only of a receiver that is on:
    // a host talking to a board that is still booting is no firmware defect.
    this.bulk?.release();
    if (this.rxRunning() && !this.pins.rxConnected()) return;
    const errors =
      (options.framingError ? ISR_FE : 0) | (options.noise ? ISR_NE : 0) | (options.parityError ? ISR_PE : 0);
    this.wire.push(byte & 0x1ff, errors, options.senderBitNs ?? Number.NaN, Number.NaN);
    if (!this.rxTimer) this.startWireChar();
  }

  /** Puts characters on the RX wire back to back: the same as `receive` for each in turn. */
  receiveBytes(bytes: ArrayLike<number>, options: ReceiveOptions = {}): void {
    if (bytes.length === 0) return;
    // Behind a character still arriving, the new ones only lengthen the wire: a bulk engine
    // running the timing takes them in place (brought up to now first).
    this.bulk?.sync(this);
    const behind = this.bulk?.running === true && this.rxTimer !== undefined;
    if (!behind) this.bulk?.release();
    if (this.rxRunning() && !this.pins.rxConnected()) {
      this.bulk?.release();
      // Each character asks again (and the strict board hears of each).
      for (let i = 1; i < bytes.length; i++) this.receive(bytes[i]!, options);
      return;
    }
    const errors =
      (options.framingError ? ISR_FE : 0) | (options.noise ? ISR_NE : 0) | (options.parityError ? ISR_PE : 0);
    const sender = options.senderBitNs ?? Number.NaN;
    for (let i = 0; i < bytes.length; i++) {
      this.wire.push(bytes[i]! & 0x1ff, errors, sender, Number.NaN);
      if (!this.rxTimer) this.startWireChar();
    }
    if (behind) this.bulk!.appended(this);
  }

  /** A character is being sent, or waits in TDR: the TX line is not about to go idle. */
  get transmitting(): boolean {
    this.bulk?.sync(this);
    return this.txTimer !== undefined || this.tdrFull;
  }

  /** Characters on the RX wire not yet fully received (including the one in flight). */
  get rxPending(): number {
    this.bulk?.sync(this);
    return this.wire.length + (this.rxTimer ? 1 : 0);
  }

  /** Drops characters queued on the RX wire that have not started. */
  clearRxWire(): void {
    this.bulk?.release();
    this.wire.clear();
  }

  /**
   * Brings what a bulk engine works out lazily up to now: the state, and
   * the characters `onTransmit` hears in batches. Without an engine: nothing.
   */
  settle(): void {
    this.bulk?.sync(this);
  }

  /**
   * What `onTransmit` does with a character changed (a peer's rate, a
   * wire's routing): characters already sent are heard as before it, and a
   * bulk engine asks `transmitTiming` again.
   */
  listenersChanged(): void {
    this.bulk?.release();
  }

  /**
   * The line is driven anew: whatever the wire still carried is gone (the
   * character being received is cut short and lost, queued ones never
   * come). For a wire that is one transmitter's line, such as a loopback,
   * where a new character can only start once the last one ended or the
   * transmitter was reset mid-character.
   */
  cutRxWire(): void {
    this.bulk?.release();
    this.wire.clear();
    const timer = this.rxTimer;
    if (timer && timer.dueNs <= this.clock.nowNs) {
      // Ending right now, as the next one starts: it is whole.
      this.clock.cancel(timer);
      this.wireCharDone(timer.dueNs - this.rxStartNs);
    } else if (timer) {
      this.clock.cancel(timer);
      this.rxTimer = undefined;
      this.rxHas = false;
      this.rxListening = false;
      this.isr &= ~ISR_BUSY;
      this.update();
    }
  }

  get isrValue(): number {
    this.bulk?.sync(this);
    return this.computeIsr();
  }

  /** A debugger's read: RDR keeps its character (RXNE stays set). */
  peek(offset: number, size: AccessSize): number {
    if ((offset & ~3) !== USART.RDR) return this.read(offset, size);
    this.bulk?.sync(this);
    checkAligned(this.base, offset, false, size);
    return laneRead(this.rdr, offset, size);
  }

  read(offset: number, size: AccessSize): number {
    checkAligned(this.base, offset, false, size);
    const word = offset & ~3;
    // Reading RDR may clear RXNE: a change, not just a look.
    if (this.bulk) {
      if (word === USART.RDR) this.bulk.release();
      else this.bulk.sync(this);
    }
    let v: number;
    switch (word) {
      case USART.CR1:
        v = this.cr1;
        break;
      case USART.CR2:
        v = this.cr2;
        break;
      case USART.CR3:
        v = this.cr3;
        break;
      case USART.BRR:
        v = this.brr;
        break;
      case USART.GTPR:
        v = this.gtpr;
        break;
      case USART.RTOR:
        v = this.rtor;
        break;
      case USART.RQR:
      case USART.ICR:
        v = 0; // write-only
        break;
      case USART.ISR:
        v = this.computeIsr();
        break;
      case USART.RDR:
        // Reading RDR clears RXNE (RM0444 USART_ISR.RXNE).
        v = this.rdr;
        if (this.isr & ISR_RXNE) {
          this.isr &= ~ISR_RXNE;
          this.update();
        }
        break;
      case USART.TDR:
        v = this.tdr;
        break;
      case USART.PRESC:
        v = this.presc;
        break;
      default:
        throw busError(this.base, offset, false, size);
    }
    return laneRead(v, offset, size);
  }

  write(offset: number, value: number, size: AccessSize): void {
    checkAligned(this.base, offset, true, size);
    const word = offset & ~3;
    if (word > USART.PRESC) throw busError(this.base, offset, true, size);
    // Clearing flags changes no timing, nor a DMA request unless DDRE holds one back for an
    // error: a bulk engine takes the new flags in place.
    const inPlace = word === USART.ICR && this.bulk !== null && (this.cr3 & CR3_DDRE) === 0;
    if (inPlace) this.bulk!.sync(this);
    else this.bulk?.release();
    if (!this.clockEnabled) {
      this.writesWhileUnclocked++;
      return;
    }
    const enabled = (this.cr1 & CR1_UE) !== 0;
    if (word === USART.CR1 || word === USART.CR2 || word === USART.BRR || word === USART.PRESC)
      this.frameCache = FRAME_UNKNOWN;
    switch (word) {
      case USART.CR1:
        this.writeCr1(laneWrite(this.cr1, offset, value, size) & CR1_MASK);
        break;
      case USART.CR2:
        this.cr2 = this.guarded(
          this.cr2,
          laneWrite(this.cr2, offset, value, size) & CR2_MASK,
          CR2_LOCKED,
          enabled,
        );
        break;
      case USART.CR3:
        this.cr3 = this.guarded(
          this.cr3,
          laneWrite(this.cr3, offset, value, size) & CR3_MASK,
          CR3_LOCKED,
          enabled,
        );
        break;
      case USART.BRR:
        this.brr = this.guarded(this.brr, laneWrite(this.brr, offset, value, size) & 0xffff, 0xffff, enabled);
        break;
      case USART.GTPR:
        this.gtpr = laneWrite(this.gtpr, offset, value, size) & 0xffff;
        break;
      case USART.RTOR:
        this.rtor = laneWrite(this.rtor, offset, value, size);
        break;
      case USART.PRESC:
        this.presc = this.guarded(this.presc, laneWrite(this.presc, offset, value, size) & 0xf, 0xf, enabled);
        if (this.presc >= PRESC_FIRST_RESERVED) this.reportReservedPrescaler();
        break;
      case USART.RQR:
        this.writeRqr(laneWrite(0, offset, value, size));
        break;
      case USART.ICR:
        this.writeIcr(laneWrite(0, offset, value, size));
        break;
      case USART.TDR:
        this.writeTdr(laneWrite(0, offset, value, size) & 0x1ff);
        break;
      case USART.ISR:
      case USART.RDR:
        break; // read-only
      default:
        throw busError(this.base, offset, true, size);
    }
    this.update();
    if (inPlace) this.bulk!.changed(this);
  }

  private countMisuse(kind: UsartMisuse): void {
    this.misuse.set(kind, (this.misuse.get(kind) ?? 0) + 1);
    this.onMisuse?.(kind);
  }

  /** Applies a write, keeping `locked` bits while the USART is enabled. */
  private guarded(old: number, v: number, locked: number, enabled: boolean): number {
    if (!enabled) return v >>> 0;
    if (((old ^ v) & locked) !== 0) this.countMisuse('config-while-enabled');
    return ((old & locked) | (v & ~locked)) >>> 0;
  }

  private writeCr1(v: number): void {
    const old = this.cr1;
    const wasEnabled = (old & CR1_UE) !== 0;
    this.cr1 = this.guarded(old, v, CR1_LOCKED, wasEnabled);
    const ue = (this.cr1 & CR1_UE) !== 0;
    if ((this.cr1 & (CR1_M1 | CR1_M0)) === (CR1_M1 | CR1_M0)) this.reportReservedWordLength();
    if (ue && !wasEnabled) this.checkBaudDivider();
    if (wasEnabled && !ue) {
      // RM0444 USART_CR1.UE: clearing UE stops the USART at once, discards
      // current operations and resets the ISR flags; the configuration stays.
      this.stopActivity();
      return;
    }
    const teNow = ue && (this.cr1 & CR1_TE) !== 0;
    const teBefore = wasEnabled && (old & CR1_TE) !== 0;
    // Enabling the transmitter first sends an idle frame (RM0444 USART_CR1.TE).
    if (teNow && !teBefore) this.startIdleFrame();
    this.tryStartTx();
  }

  /**
   * RM0444 USART_CR1.M1 (with M0) and §33.5.3 "USART character
   * description" define M[1:0] = 00 (8 data bits), 01 (9) and 10 (7) only;
   * 11 is no word length the manual defines. The model takes it as 7 bits.
   */
  private reportReservedWordLength(): void {
    this.onConfigError?.(
      'CR1 written with M1:M0 = 11, a word length RM0444 does not define (USART_CR1.M1: 00 = 8, 01 = 9, 10 = 7 data bits): the frame format on silicon is unknown',
    );
  }

  private reportReservedPrescaler(): void {
    const bits = this.presc.toString(2).padStart(4, '0');
    this.onConfigError?.(
      `PRESC written with PRESCALER = ${bits}, which is reserved (RM0444 USART_PRESC: 0000 to 1011 divide by 1 to 256); the USART takes it as 1011 and divides its kernel clock by 256`,
    );
  }

  /**
   * At UE = 1 (BRR and OVER8 can only change while UE = 0): RM0444 §33.5.7
   * "USART baud rate generation": USARTDIV must be greater than or equal to
   * 16 in both oversampling modes; with OVER8 = 1, BRR[2:0] holds
   * USARTDIV[3:1], BRR[3] must be kept cleared and BRR[15:4] = USARTDIV[15:4],
   * so USARTDIV ≥ 16 means BRR[15:4] ≥ 1. The model does not run a USART
   * whose divider is below 16.
   */
  private checkBaudDivider(): void {
    const brr = this.brr;
    const hexBrr = `0x${brr.toString(16).toUpperCase().padStart(4, '0')}`;
    if ((this.cr1 & CR1_OVER8) === 0) {
      if (brr < 16)
        this.onConfigError?.(
          `UE set with BRR = ${hexBrr} (OVER8 = 0): USARTDIV must be at least 16 (RM0444 §33.5.7); the USART sends and receives nothing`,
        );
      return;
    }
    if (brr >>> 4 === 0)
      this.onConfigError?.(
        `UE set with BRR = ${hexBrr} (OVER8 = 1): BRR[15:4] = 0 makes USARTDIV below 16, which RM0444 §33.5.7 forbids; the USART sends and receives nothing`,
      );
    if (brr & 0x8)
      this.onConfigError?.(
        `UE set with BRR = ${hexBrr} (OVER8 = 1): BRR[3] must be kept cleared in 8x oversampling (RM0444 §33.5.7)`,
      );
  }

  private writeRqr(v: number): void {
    // RXFRQ: discard the received character (clears RXNE).
    if (v & (1 << 3)) this.isr &= ~ISR_RXNE;
    // TXFRQ with the FIFO disabled: sets TXE, discarding the pending character.
    if (v & (1 << 4)) this.tdrFull = false;
  }

  private writeIcr(v: number): void {
    // PECF, FECF, NECF, ORECF, IDLECF at bits 0..4, TCCF at 6, CMCF at 17 clear the flags of the same position.
    this.isr &= ~(v & (ISR_PE | ISR_FE | ISR_NE | ISR_ORE | ISR_IDLE | ISR_TC | ISR_CMF));
  }

  private writeTdr(v: number): void {
    if (this.tdrFull) this.countMisuse('tdr-overwrite');
    this.tdr = v;
    this.tdrFull = true;
    // Writing TDR clears TC (RM0444 USART_ISR.TC).
    this.isr &= ~ISR_TC;
    this.tryStartTx();
  }

  private txRunning(): boolean {
    return this.clockEnabled && (this.cr1 & (CR1_UE | CR1_TE)) === (CR1_UE | CR1_TE);
  }

  private rxRunning(): boolean {
    return this.clockEnabled && (this.cr1 & (CR1_UE | CR1_RE)) === (CR1_UE | CR1_RE);
  }

  private startIdleFrame(): void {
    if (this.txTimer) return;
    const frame = this.frameNs();
    if (frame === undefined) return;
    this.txIdleFrame = true;
    this.txTimer = this.clock.schedule(frame, this.onTxFrameDone);
  }

  /** Moves TDR into the shift register when it is free (TXE rises). */
  private tryStartTx(): void {
    if (this.txTimer || !this.tdrFull || !this.txRunning()) return;
    const frame = this.frameNs();
    if (frame === undefined) return;
    this.txIdleFrame = false;
    this.txByte = this.tdr;
    this.tdrFull = false;
    this.txTimer = this.clock.schedule(frame, this.onTxFrameDone);
    this.txOnWire = this.pins.txConnected();
    this.update();
    if (this.txOnWire) this.transmitStart?.(this.txByte, this.clock.nowNs, frame);
    if (this.txOnWire && this.lines) {
      this.lines.tx(this.txByte, this.clock.nowNs, this.bitNs() ?? frame / 10, this.wordBits());
    }
  }

  private readonly onTxFrameDone = (): void => {
    if (!this.bulk?.takeOver()) this.txFrameDone();
  };

  private txFrameDone(): void {
    this.txTimer = undefined;
    const wasIdle = this.txIdleFrame;
    const sent = this.txByte;
    const onWire = this.txOnWire;
    this.txIdleFrame = false;
    if (this.tdrFull && this.txRunning()) {
      this.tryStartTx();
    } else if (!wasIdle) {
      // RM0444 USART_ISR.TC: the frame with data is complete and TXE is set.
      this.isr |= ISR_TC;
    }
    this.update();
    if (!wasIdle && onWire) this.onTransmit?.(sent, this.clock.nowNs);
  }

  /** Bits in a word (M1:M0), parity included. */
  private wordBits(): number {
    const m = ((this.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((this.cr1 & CR1_M0) !== 0 ? 1 : 0);
    return m === 0 ? 8 : m === 1 ? 9 : 7;
  }

  /** This USART's bit time, ns, or undefined if it can't run. */
  bitNs(): number | undefined {
    const frame = this.frameNs();
    if (frame === undefined) return undefined;
    const m = ((this.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((this.cr1 & CR1_M0) !== 0 ? 1 : 0);
    const word = m === 0 ? 8 : m === 1 ? 9 : 7;
    return frame / (1 + word + STOP_BITS[field(this.cr2, 12, 2)]!);
  }

  /** How this receiver samples, for its tolerance to clock deviation (RM0444 §33.5.8). */
  private sampling(): ReceiverSampling {
    const m = ((this.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((this.cr1 & CR1_M0) !== 0 ? 1 : 0);
    const over8 = (this.cr1 & CR1_OVER8) !== 0;
    return {
      over8,
      fractionalBrr: (this.brr & (over8 ? 7 : 15)) !== 0,
      wordBits: m === 0 ? 8 : m === 1 ? 9 : 7,
      oneBit: (this.cr3 & CR3_ONEBIT) !== 0,
    };
  }

  /**
   * Characters sent at a rate other than this USART's: the queued run of
   * them is replaced by what the receiver samples from their waveform,
   * each taking the wire until the receiver has it.
   */
  private sampleForeignRun(): void {
    const wire = this.wire;
    if (wire.length === 0) return;
    const senderBit = wire.senderAt(0);
    if (Number.isNaN(senderBit) || !Number.isNaN(wire.durationAt(0))) return;
    let n = 0;
    while (n < wire.length && wire.senderAt(n) === senderBit && Number.isNaN(wire.durationAt(n))) n++;
    const ownBit = this.bitNs();
    if (ownBit !== undefined && sameRate(ownBit, senderBit)) {
      for (let i = 0; i < n; i++) wire.setDuration(i, senderBit * 10);
      return;
    }
    const runNs = n * 10 * senderBit;
    const sampled: WireCharacter[] = [];
    let at = 0;
    if (ownBit !== undefined) {
      const sent = Array.from({ length: n }, (_, i) => (wire.byteAt(i) < 0 ? 0xff : wire.byteAt(i)));
      const heard = sampleLine(sent, senderBit, ownBit, this.sampling());
      if (garbled(sent, heard)) this.onRateMismatch?.(senderBit, ownBit);
      for (const c of heard) {
        sampled.push({
          byte: c.byte,
          errors: (c.framingError ? ISR_FE : 0) | (c.noise ? ISR_NE : 0),
          senderBitNs: Number.NaN,
          durationNs: Math.max(1, c.atNs - at),
        });
        at = c.atNs;
      }
    }
    // The wire stays busy until the sender's last stop bit has gone.
    if (at < runNs) sampled.push({ byte: -1, errors: 0, senderBitNs: Number.NaN, durationNs: runNs - at });
    this.wire.replaceFront(n, sampled);
  }

  private startWireChar(): void {
    this.sampleForeignRun();
    const wire = this.wire;
    if (wire.length === 0) return;
    const byte = wire.byteAt(0);
    const errors = wire.errorsAt(0);
    const duration = wire.durationAt(0);
    wire.shift();
    if (this.idleTimer) this.clock.cancel(this.idleTimer);
    this.idleTimer = undefined;
    // A sender without its own rate sends at the rate the USART is set to;
    // if it can't run, the character still takes a 115200 8N1 frame on the
    // wire and is lost.
    const frame = Number.isNaN(duration) ? (this.frameNs() ?? 86_806) : duration;
    this.rxHas = true;
    this.rxByte = byte;
    this.rxErrors = errors;
    this.rxListening = this.rxRunning();
    // BUSY: a start bit was seen, reception in progress (RM0444 USART_ISR.BUSY).
    if (this.rxListening) this.isr |= ISR_BUSY;
    this.rxStartNs = this.clock.nowNs;
    this.rxFrameNs = frame;
    this.rxTimer = this.clock.schedule(frame, this.onWireCharDone);
    this.lines?.rx(byte < 0 ? undefined : byte, this.rxStartNs, frame, this.wordBits());
    this.update();
  }

  private readonly onWireCharDone = (): void => {
    if (!this.bulk?.takeOver()) this.wireCharDone(this.rxFrameNs);
  };

  private readonly onIdleTimer = (): void => {
    if (this.bulk?.takeOver()) return;
    this.idleTimer = undefined;
    if (this.idleArmed && this.rxRunning()) {
      this.isr |= ISR_IDLE;
      this.idleArmed = false;
      this.update();
    }
  };

  private wireCharDone(frame: number): void {
    this.rxTimer = undefined;
    const had = this.rxHas;
    this.rxHas = false;
    this.isr &= ~ISR_BUSY;
    if (had && this.rxByte >= 0 && this.rxListening && this.rxRunning())
      this.deposit(this.rxByte, this.rxErrors);
    this.rxListening = false;
    if (this.wire.length > 0) this.startWireChar();
    else if (this.idleArmed && this.rxRunning()) {
      // IDLE: a whole idle frame after received data (RM0444 USART_ISR.IDLE);
      // it is not set again until RXNE has been set again.
      this.idleTimer = this.clock.schedule(this.frameNs() ?? frame, this.onIdleTimer);
    }
    this.update();
  }

  private deposit(byte: number, charErrors: number): void {
    if (this.isr & ISR_RXNE) {
      if (this.cr3 & CR3_OVRDIS) {
        // Overrun detection off: the new character overwrites RDR (RM0444 USART_CR3.OVRDIS).
        this.rdr = byte;
        this.idleArmed = true;
      } else {
        // RM0444 USART_ISR.ORE: RDR keeps the unread character, the new one is lost.
        this.isr |= ISR_ORE;
      }
      return;
    }
    const errors = charErrors & (this.cr1 & CR1_PCE ? ISR_PE | ISR_FE | ISR_NE : ISR_FE | ISR_NE);
    this.isr |= errors;
    this.rdr = this.wordMask(byte);
    // Character match (RM0444 USART_ISR.CMF): the received character equals
    // CR2.ADD (its 8 bits for 8-bit words), whoever reads RDR (CPU or DMA).
    if ((this.rdr & 0xff) === this.cr2 >>> 24) this.isr |= ISR_CMF;
    if (errors && this.cr3 & CR3_DMAR && !(this.cr3 & CR3_DDRE)) {
      // RM0444 USART_CR3.DDRE = 0: on a reception error the flag is set but
      // RXNE is kept 0, so the erroneous character is not handed to the DMA.
      return;
    }
    this.isr |= ISR_RXNE;
    this.idleArmed = true;
  }

  /**
   * The bits of a received word. With parity on, the MSB read is the received
   * parity bit (RM0444 USART_RDR), so nothing is masked beyond the word length.
   */
  private wordMask(byte: number): number {
    const m = ((this.cr1 & CR1_M1) !== 0 ? 2 : 0) | ((this.cr1 & CR1_M0) !== 0 ? 1 : 0);
    const bits = m === 0 ? 8 : m === 1 ? 9 : 7;
    return byte & ((1 << bits) - 1);
  }

  private stopActivity(): void {
    if (this.txTimer) this.clock.cancel(this.txTimer);
    this.txTimer = undefined;
    this.txIdleFrame = false;
    this.tdrFull = false;
    if (this.idleTimer) this.clock.cancel(this.idleTimer);
    this.idleTimer = undefined;
    this.idleArmed = false;
    this.rxListening = false;
    this.isr = ISR_RESET;
  }

  /** Lets a bulk engine run this USART's timing (null: its own timers, always). */
  attachBulk(hook: BulkHook | null): void {
    this.bulk = hook;
  }

  /** The fixed parts the bulk engine works with. */
  bulkPort(): UsartBulkPort {
    return {
      irq: this.irq,
      wire: this.wire,
      onTxTimer: this.onTxFrameDone,
      onRxTimer: this.onWireCharDone,
      onIdleTimer: this.onIdleTimer,
    };
  }

  /** Whether TX would reach its pin now (asked without a report). */
  txRouted(): boolean {
    return this.pins.txRouted ? this.pins.txRouted() : this.pins.txConnected();
  }

  /** The state the bulk engine takes over (timers as they are: the engine takes them off the clock). */
  exportBulk(): UsartBulkState {
    return {
      cr1: this.cr1,
      cr2: this.cr2,
      cr3: this.cr3,
      clockEnabled: this.clockEnabled,
      frameNs: this.frameNs(),
      bitNs: this.bitNs(),
      isr: this.isr,
      rdr: this.rdr,
      tdr: this.tdr,
      tdrFull: this.tdrFull,
      txByte: this.txByte,
      txIdleFrame: this.txIdleFrame,
      txOnWire: this.txOnWire,
      rxHas: this.rxHas,
      rxByte: this.rxByte,
      rxErrors: this.rxErrors,
      rxStartNs: this.rxStartNs,
      rxFrameNs: this.rxFrameNs,
      rxListening: this.rxListening,
      idleArmed: this.idleArmed,
      irqLevel: this.irqLevel,
      txReqLevel: this.txReqLevel,
      rxReqLevel: this.rxReqLevel,
      txTimer: this.txTimer,
      rxTimer: this.rxTimer,
      idleTimer: this.idleTimer,
    };
  }

  /** The state as the bulk engine worked it out (its configuration part is not taken: it did not change). */
  importBulk(s: UsartBulkState): void {
    this.isr = s.isr;
    this.rdr = s.rdr;
    this.tdr = s.tdr;
    this.tdrFull = s.tdrFull;
    this.txByte = s.txByte;
    this.txIdleFrame = s.txIdleFrame;
    this.txOnWire = s.txOnWire;
    this.rxHas = s.rxHas;
    this.rxByte = s.rxByte;
    this.rxErrors = s.rxErrors;
    this.rxStartNs = s.rxStartNs;
    this.rxFrameNs = s.rxFrameNs;
    this.rxListening = s.rxListening;
    this.idleArmed = s.idleArmed;
    this.irqLevel = s.irqLevel;
    this.txReqLevel = s.txReqLevel;
    this.rxReqLevel = s.rxReqLevel;
    this.txTimer = s.txTimer;
    this.rxTimer = s.rxTimer;
    this.idleTimer = s.idleTimer;
  }

  private computeIsr(): number {
    let v = this.isr & ~(ISR_TXE | ISR_TEACK | ISR_REACK);
    if (!this.tdrFull) v |= ISR_TXE;
    const ue = (this.cr1 & CR1_UE) !== 0;
    if (ue && this.cr1 & CR1_TE) v |= ISR_TEACK;
    if (ue && this.cr1 & CR1_RE) v |= ISR_REACK;
    return v >>> 0;
  }

  /** Interrupt and DMA request levels from the flags (RM0444 §33.7, USART interrupt requests). */
  private update(): void {
    const isr = this.computeIsr();
    const cr1 = this.cr1;
    const cr3 = this.cr3;
    const irq =
      (cr1 & CR1_TXEIE && isr & ISR_TXE) ||
      (cr1 & CR1_TCIE && isr & ISR_TC) ||
      (cr1 & CR1_RXNEIE && isr & (ISR_RXNE | ISR_ORE)) ||
      (cr1 & CR1_IDLEIE && isr & ISR_IDLE) ||
      (cr1 & CR1_CMIE && isr & ISR_CMF) ||
      (cr1 & CR1_PEIE && isr & ISR_PE) ||
      (cr3 & CR3_EIE && isr & (ISR_FE | ISR_NE | ISR_ORE));
    const live = this.clockEnabled && (cr1 & CR1_UE) !== 0;
    const txReq = live && bit(cr3, 7) && (isr & ISR_TXE) !== 0;
    // With DDRE = 1 a reception error masks the request until its flag is cleared.
    const rxBlocked = (cr3 & CR3_DDRE) !== 0 && (isr & (ISR_PE | ISR_FE | ISR_NE)) !== 0;
    const rxReq = live && bit(cr3, 6) && (isr & ISR_RXNE) !== 0 && !rxBlocked;
    if (!!irq !== this.irqLevel) {
      this.irqLevel = !!irq;
      this.irq.set(this.irqLevel);
    }
    if (txReq !== this.txReqLevel) {
      this.txReqLevel = txReq;
      this.txRequest.set(txReq);
    }
    if (rxReq !== this.rxReqLevel) {
      this.rxReqLevel = rxReq;
      this.rxRequest.set(rxReq);
    }
  }
}
