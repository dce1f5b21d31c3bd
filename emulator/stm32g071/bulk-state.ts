/**
 * What the USARTs, the DMA and the DMAMUX hand the bulk engine
 * (bulk-engine.ts) when it takes their timing over, and take back when it
 * gives it up: their moving state, their pending timers and the callbacks
 * those timers run. The peripherals know the engine only through `BulkHook`.
 */
import type { TimerHandle } from '../core/clock.ts';
import type { InterruptLine } from '../core/irq.ts';

/** The engine as the peripherals of its domain see it. */
export interface BulkHook {
  /**
   * Before anything outside the domain's own timing changes it (a register
   * write, a character from a host, a reset, a clock change): the engine
   * brings the domain up to now and hands the timing back to the
   * peripherals' own timers, which then run as without the engine.
   */
  release(): void;
  /**
   * Before a look at the state (a register read, a query): the domain is
   * brought up to now; `part` (the peripheral that asks) alone gets its
   * state written back, else all do.
   */
  sync(part?: object): void;
  /** Whether the engine runs the domain's timing now. */
  readonly running: boolean;
  /** Characters were added behind the one arriving on `part`'s RX wire (after `sync`): the engine looks ahead again. */
  appended(part: object): void;
  /**
   * After a write that `sync` preceded and that changed only flags of
   * `part` (and the interrupt line they drive): the engine takes them as
   * they are now and looks ahead again.
   */
  changed(part: object): void;
  /**
   * A timer of the domain fired while the engine was not running it:
   * returns true if the engine took it and the domain's timing over (the
   * timer's own callback must then do nothing).
   */
  takeOver(): boolean;
}

/** The RX wire's waiting characters (wire-queue.ts), as the engine reads and takes them. */
export interface BulkWire {
  readonly length: number;
  /** The ring itself: character i (0: the next) at (head + i) & mask. */
  readonly bytes: Int16Array;
  readonly errorBits: Uint8Array;
  readonly senders: Float64Array;
  readonly durations: Float64Array;
  readonly head: number;
  readonly mask: number;
  byteAt(i: number): number;
  errorsAt(i: number): number;
  senderAt(i: number): number;
  durationAt(i: number): number;
  setDuration(i: number, durationNs: number): void;
  shift(): void;
}

export interface UsartBulkState {
  // Configuration: fixed while the engine runs the USART (changing it goes through `release`).
  readonly cr1: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly clockEnabled: boolean;
  /** One frame with the current configuration, ns, or undefined if the USART can't run. */
  readonly frameNs: number | undefined;
  readonly bitNs: number | undefined;
  // Moving state.
  isr: number;
  rdr: number;
  tdr: number;
  tdrFull: boolean;
  txByte: number;
  txIdleFrame: boolean;
  txOnWire: boolean;
  /** A character arriving: whether there is one, its byte (-1: none is made of it), its errors. */
  rxHas: boolean;
  rxByte: number;
  rxErrors: number;
  rxStartNs: number;
  rxFrameNs: number;
  rxListening: boolean;
  idleArmed: boolean;
  irqLevel: boolean;
  txReqLevel: boolean;
  rxReqLevel: boolean;
  txTimer: TimerHandle | undefined;
  rxTimer: TimerHandle | undefined;
  idleTimer: TimerHandle | undefined;
}

/** What the engine needs beside the state: lines, wire, callbacks; fixed for the USART's life. */
export interface UsartBulkPort {
  readonly irq: InterruptLine;
  readonly wire: BulkWire;
  readonly onTxTimer: () => void;
  readonly onRxTimer: () => void;
  readonly onIdleTimer: () => void;
}

export interface DmaChannelBulkState {
  ccr: number;
  cndtr: number;
  cpar: number;
  cmar: number;
  programmed: number;
  curP: number;
  curM: number;
  flags: number;
  request: boolean;
}

export interface DmaBulkState {
  readonly channels: readonly DmaChannelBulkState[];
  readonly hclkHz: number;
  readonly cyclesPerItem: number;
  readonly clockEnabled: boolean;
  irqLevels: [boolean, boolean, boolean];
  itemsTransferred: number;
  timer: TimerHandle | undefined;
}

export interface DmaBulkPort {
  readonly irqs: readonly [InterruptLine, InterruptLine, InterruptLine];
  readonly onSlot: () => void;
}

export interface DmamuxBulkState {
  /** Request ID per channel (CxCR.DMAREQ_ID). */
  readonly selected: readonly number[];
  /** Level of each request input. */
  readonly levels: boolean[];
  /** Level of each channel output. */
  readonly outputs: boolean[];
}
