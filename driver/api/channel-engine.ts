/**
 * One DMA channel serving USART1, driven the way the safe API needs:
 *
 * - a transfer starts with one request: a register batch that disables the
 *   channel, clears its flags, routes the DMAMUX request, programs CNDTR,
 *   CPAR, CMAR and USART1, and enables the channel last (the board issues
 *   DSB before that write, PROTOCOL.md §7);
 * - completion comes from the board's events, never from polling;
 * - an event is given to the current operation only if it names the
 *   operation's start: every DMA event carries its channel's count of
 *   starts, every USART event both channels' (PROTOCOL.md §3), and the
 *   start's reply says which one it was. An event of an earlier transfer
 *   is ignored however late it arrives, so a delayed TC cannot end a write
 *   while its last bytes are on the wire, nor a delayed error fail a
 *   reception that never had it. A USART event of firmware before 2.4
 *   names no start: it is given over if the board sent it after the
 *   start's reply (its counter at or after the reply's event mark), which
 *   a delayed one can still pass (see the README). Events that arrive while
 *   the start is unanswered (its reply was damaged and is being resent) are
 *   kept and handed over once the reply comes, with any loss or damage
 *   noticed meanwhile, so nothing that happened to the new operation is
 *   dropped, and nothing of an earlier one is taken for it;
 * - a start whose request went out and whose outcome never came back is
 *   *in doubt*: the caller must treat its memory as in use until the board
 *   confirms otherwise (a new session or board.recover()).
 */

import { type ChannelStatus, parseChannelStatus } from '../board/batch.ts';
import type { Board } from '../board/board.ts';
import type { BufferLoan, LendTarget } from '../board/dma-buffer.ts';
import { PollTimeoutError, RevokedError } from '../board/errors.ts';
import { type DmaEvent, type UsartEvent, usartEventStart } from '../board/events.ts';
import type { Handle } from '../board/handles.ts';
import { type BoardInternals, boardInternals } from '../board/internals.ts';
import { fieldMask } from '../chip/decode.ts';
import type { DmaChannelDescription, UsartDescription } from '../chip/types.ts';
import type { DeviceResetError, LinkClosedError } from '../link/errors.ts';
import { Status } from '../protocol/index.ts';
import type { Timers } from '../transport/timers.ts';
import type { SettledChannelOptions } from './channel-options.ts';
import { AlignmentError, ChannelBusyError } from './errors.ts';

export type DataSize = 8 | 16 | 32;
export type Priority = 'low' | 'medium' | 'high' | 'very-high';

/** Options of a transfer's DMA channel (the chapter leaves them as an exercise). */
export interface ChannelOptions {
  /** Bits moved per DMA request (MSIZE = PSIZE). The USART sends the low 8 bits of each item. Default 8. */
  dataSize?: DataSize;
  /** Software priority between channels (CCR.PL). Default 'medium'. */
  priority?: Priority;
}

const PRIORITY_LEVEL: Record<Priority, number> = { low: 0, medium: 1, high: 2, 'very-high': 3 };
const SIZE_CODE: Record<DataSize, number> = { 8: 0, 16: 1, 32: 2 };

/**
 * The memory of a start: a part of what the ledger lent (all of it unless
 * `offset`/`length` say otherwise). The address comes from the ledger, never
 * from an object a caller holds.
 */
export interface StartMemory {
  readonly loan: BufferLoan;
  readonly offset?: number;
  /** Memory bytes the transfer covers; must be a whole number of items. */
  readonly length?: number;
}

export interface StartSpec {
  direction: 'to-peripheral' | 'from-peripheral';
  memory: StartMemory;
  /** Read once from the caller's object at the API boundary (see channel-options.ts). */
  options: SettledChannelOptions;
  circular?: boolean;
  halfTransferEvents?: boolean;
  /** Enable USART1's TC interrupt (a write completes when the last bit has left the wire). */
  usartTcEvent?: boolean;
  /** Enable USART1's IDLE interrupt (reception until the line goes idle). */
  usartIdleEvent?: boolean;
  /**
   * The caller has owned the serial since this channel's previous start,
   * which had the same spec but for memory and length, and completed: the
   * DMAMUX route, CPAR and USART1's CR1/CR3 bits are as that start left
   * them. The start then only reprograms CNDTR and CMAR (a batch half the
   * size), which matters to the streaming writer, one start per chunk. The
   * board's start checks still run on the enabling write, so a wrong claim
   * is refused, never unsafe.
   */
  sameConfigurationAsLast?: boolean;
  /**
   * The previous transfer on this channel (same direction) may still be
   * moving its last items: the board first waits, up to `timeoutUs`, until
   * its CNDTR is 0, and only then reprograms the channel; if it is not done
   * by then the start fails with PollTimeoutError and changes nothing. Lets
   * the streaming writer queue a chunk's start right behind its upload.
   */
  afterPrevious?: { timeoutUs: number };
  /**
   * Cancels the start while it is still queued on the host. Once sent it
   * runs on the board, so it is then waited for like any start: its outcome
   * (and the operation it starts) is never lost to the cancellation.
   */
  signal?: AbortSignal;
}

/** What a running operation hears about its channel. */
export interface OperationSink {
  dma(event: DmaEvent): void;
  usart(event: UsartEvent): void;
  /**
   * Events were lost on the link (`suspected`: a damaged frame may have been
   * one): the operation must re-read the state it depends on.
   */
  eventsLost(suspected: boolean): void;
  /** The board reset or the link closed: the operation is over. */
  gone(error: DeviceResetError | LinkClosedError): void;
  /**
   * The start's reply just arrived and the board accepted it: called
   * synchronously, before any event behind the reply is delivered (and
   * before the promise of start() settles).
   */
  accepted?(): void;
}

/** A channel's state at one instant (a REG_BATCH STATUS, PROTOCOL.md §2). */
export type ChannelState = ChannelStatus;

/**
 * How a start ended. `ran: 'no'`: the board refused it, or it never left the
 * host, so its memory and owners can be handed back. `ran: 'unknown'`: it
 * went out and no answer came (link timeout, closed, session reopened): the
 * channel may be running on its memory.
 */
export type StartOutcome = { ok: true } | { ok: false; error: unknown; ran: 'no' | 'unknown' };

/** `a` comes before `b` in mod-2^16 order. */
function counterBefore(a: number, b: number): boolean {
  const d = (b - a) & 0xffff;
  return d !== 0 && d < 0x8000;
}

/** Events kept while a start is unanswered; more than this counts as a loss. */
const MAX_HELD_EVENTS = 32;

/** The operation on a channel, from its start until it is over. */
interface Operation {
  readonly sink: OperationSink;
  /** Its start's reply came: events go straight to the sink. */
  armed: boolean;
  /** Events that came while its start was unanswered. */
  readonly held: (DmaEvent | UsartEvent)[];
  /** A loss or damage was noticed while its start was unanswered. */
  lost: boolean;
  /** A stop() was sent for it. */
  stopped: boolean;
}

/**
 * A signal that follows the caller's `signal` until `sent()`: a start once
 * sent runs on the board, so it is then waited for like any other.
 */
function untilSent(signal: AbortSignal, sent: () => boolean): { signal: AbortSignal; detach(): void } {
  const controller = new AbortController();
  const onAbort = () => {
    if (!sent()) controller.abort(signal.reason);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort);
  return { signal: controller.signal, detach: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * One 10-bit character at the rate BRR gives from the kernel clock (OVER8 = 0),
 * ms. The clock is not 0: Serial1.take() refuses a baud rate it cannot make.
 */
function frameMsFrom(brr: number, clockHz: number): number | undefined {
  const div = brr & 0xffff;
  if (div < 16) return undefined;
  return (10 * div * 1000) / clockHz;
}

/** Checks a buffer against the data size before anything is sent. */
export function itemsFor(address: number, byteLength: number, dataSize: DataSize): number {
  const bytes = dataSize / 8;
  if (address % bytes !== 0 || byteLength % bytes !== 0) {
    throw new AlignmentError(
      `a ${dataSize}-bit transfer needs a buffer aligned to ${bytes} bytes with a length that is a multiple of ` +
        `${bytes}; this one is at 0x${address.toString(16)} with ${byteLength} bytes ` +
        `(allocate with board.alloc(len, { align: ${bytes} }))`,
    );
  }
  const items = byteLength / bytes;
  if (items < 1 || items > 0xffff) {
    throw new RangeError(
      `a DMA transfer moves 1 to 65535 items; ${byteLength} bytes at ${dataSize} bits is ${items}`,
    );
  }
  return items;
}

export class ChannelEngine {
  #op: Operation | undefined;
  /** One character on USART1 at the rate of the last start, ms (from BRR). */
  #frameMsValue: number | undefined;
  /** The board's number of the current operation's start (its DMA and USART events carry it). */
  #startId: number | undefined;
  /** USART events that named another start of this channel than the operation's: ignored. */
  #staleUsartEvents = 0;
  readonly #unsubscribe: () => void;
  readonly #unsubscribeRevoke: () => void;
  /** The configuration the last successful start left (see StartSpec.sameConfigurationAsLast). */
  #lastConfiguration: string | undefined;
  readonly #internals: BoardInternals;
  readonly #board: Board;
  readonly #usart: UsartDescription;

  constructor(
    board: Board,
    readonly channel: DmaChannelDescription,
    usart: UsartDescription,
    readonly handle: Handle,
  ) {
    this.#board = board;
    this.#usart = usart;
    this.#internals = boardInternals(board);
    this.#unsubscribe = board.subscribe((n) => {
      const op = this.#op;
      if (!op) return;
      switch (n.kind) {
        case 'dma':
          if (n.channel !== this.channel.channel) return;
          if (!op.armed) this.#hold(op, n);
          else if (n.starts === this.#startId) op.sink.dma(n);
          return;
        case 'usart':
          if (!op.armed) this.#hold(op, n);
          else if (this.#namesAnother(n)) this.#staleUsartEvents++;
          else op.sink.usart(n);
          return;
        case 'events-lost':
          if (op.armed) op.sink.eventsLost(n.suspected === true);
          else op.lost = true;
          return;
        // A reset needs no case: the board revokes every handle before it
        // says so, and the revocation below ends the operation.
        case 'closed':
          this.#op = undefined;
          op.sink.gone(n.error);
          return;
      }
    });
    // board.recover() revokes every handle without a reset notification (the
    // board did not reset): the running operation must hear it too, or its
    // wait() would never settle. Its owners are void, so it fails with
    // RevokedError. A real reset revokes first as well, so this also covers it.
    this.#unsubscribeRevoke = board.handles.onRevoke((reset) => {
      const op = this.#op;
      if (!op) return;
      this.#op = undefined;
      op.sink.gone(new RevokedError(`the operation on DMA1 channel ${this.channel.channel}`, reset));
    });
    // What a transfer's safety rests on (stop, release, the sink) lives in
    // private fields; frozen, no method can be shadowed on the instance.
    Object.freeze(this);
  }

  /** Throws RevokedError once board.recover() or a reset voided this channel's claim. */
  assertUsable(): void {
    this.#board.handles.check(this.handle);
  }

  /** Where this channel's buffers are lent from: the board's ledger (a buffer of another board has another). */
  get lendTarget(): LendTarget {
    return this.#internals;
  }

  /** Throws ChannelBusyError while an operation runs on the channel. */
  assertIdle(): void {
    if (this.#op) throw new ChannelBusyError(this.channel.channel);
  }

  /** The board's time source (deadlines of the operations on this channel). */
  get timers(): Timers {
    return this.#board.timers;
  }

  /** One character on USART1 (start, 8 data, stop bits) at the rate of the last start, ms. */
  get frameMs(): number | undefined {
    return this.#frameMsValue;
  }

  /**
   * Starts the channel in one request. `sink` hears the channel's events:
   * those the board sent after its reply to the start (see the file's
   * comment). Never rejects: a refusal or a link failure is the outcome,
   * with whether the start may have run; either way the sink is forgotten.
   */
  async start(spec: StartSpec, sink: OperationSink): Promise<StartOutcome> {
    let memoryAddress: number;
    let items: number;
    const size = spec.options.dataSize;
    try {
      this.assertIdle();
      // The ledger says where the DMA may go: only memory it lent for this channel.
      const memory = spec.memory.loan.aim(
        this.#internals.ledger,
        this.channel.channel,
        spec.memory.offset,
        spec.memory.length,
      );
      memoryAddress = memory.address;
      items = itemsFor(memory.address, memory.length, size);
    } catch (error) {
      return { ok: false, error, ran: 'no' };
    }
    const ch = this.channel;
    const u = this.#usart;
    const ccr = ch.ccr;
    const toPeripheral = spec.direction === 'to-peripheral';
    const sizeCode = SIZE_CODE[size];
    const config =
      fieldMask(ccr, 'MINC') |
      (toPeripheral ? fieldMask(ccr, 'DIR') : 0) |
      (spec.circular ? fieldMask(ccr, 'CIRC') : 0) |
      fieldMask(ccr, 'TCIE') |
      fieldMask(ccr, 'TEIE') |
      (spec.halfTransferEvents ? fieldMask(ccr, 'HTIE') : 0) |
      (PRIORITY_LEVEL[spec.options.priority] << ccr.fields.find((f) => f.name === 'PL')!.offset) |
      (sizeCode << ccr.fields.find((f) => f.name === 'MSIZE')!.offset) |
      (sizeCode << ccr.fields.find((f) => f.name === 'PSIZE')!.offset);
    const dmaBit = fieldMask(u.cr3, toPeripheral ? 'DMAT' : 'DMAR');
    const cr1Events =
      (spec.usartTcEvent ? fieldMask(u.cr1, 'TCIE') : 0) |
      (spec.usartIdleEvent ? fieldMask(u.cr1, 'IDLEIE') : 0);
    const icr =
      (spec.usartTcEvent ? fieldMask(u.icr, 'TCCF') : 0) |
      (spec.usartIdleEvent ? fieldMask(u.icr, 'IDLECF') : 0);
    const request = toPeripheral ? u.dmaRequest.tx : u.dmaRequest.rx;

    // What a start leaves configured besides memory and length: a restart may skip it only if equal.
    const configuration = `${spec.direction} ${config} ${request} ${cr1Events} ${icr}`;
    const restart = spec.sameConfigurationAsLast === true && this.#lastConfiguration === configuration;
    this.#lastConfiguration = undefined;

    const op: Operation = { sink, armed: false, held: [], lost: false, stopped: false };
    this.#op = op;
    let sent = false;
    // Only a start not yet sent may be cancelled (see StartSpec.signal).
    const cancel = spec.signal ? untilSent(spec.signal, () => sent) : undefined;
    const result = await this.#internals
      .batch(
        (b) => {
          if (spec.afterPrevious) {
            b.poll(ch.cndtr.address, 0xffff, 0, spec.afterPrevious.timeoutUs);
          }
          if (restart) {
            b.write(ccr.address, 0)
              .write(this.#internals.chip.dma.ifcr.address, (0xf << ch.flagShift) >>> 0)
              .write(ch.cndtr.address, items)
              .write(ch.cmar.address, memoryAddress)
              .write(ccr.address, config | fieldMask(ccr, 'EN'))
              .status(ch.channel)
              .read(u.brr.address);
            return;
          }
          b.write(ccr.address, 0)
            .write(this.#internals.chip.dma.ifcr.address, (0xf << ch.flagShift) >>> 0)
            .write(ch.mux.address, request)
            .write(ch.cndtr.address, items)
            .write(ch.cpar.address, toPeripheral ? u.tdr.address : u.rdr.address)
            .write(ch.cmar.address, memoryAddress);
          if (icr !== 0) b.write(u.icr.address, icr);
          if (!toPeripheral) {
            // A reception starts fresh: drop a byte left in RDR and error flags
            // from before (an overrun while no DMA was reading), or the first
            // request would deliver stale data and the first event a stale error.
            b.write(u.rqr.address, fieldMask(u.rqr, 'RXFRQ')).write(
              u.icr.address,
              fieldMask(u.icr, 'ORECF') |
                fieldMask(u.icr, 'FECF') |
                fieldMask(u.icr, 'NECF') |
                fieldMask(u.icr, 'PECF'),
            );
          }
          if (cr1Events !== 0) b.maskedWrite(u.cr1.address, cr1Events, cr1Events);
          b.maskedWrite(u.cr3.address, dmaBit, dmaBit)
            .write(ccr.address, config | fieldMask(ccr, 'EN'))
            .status(ch.channel)
            .read(u.brr.address);
        },
        {
          handle: this.handle,
          ...(cancel ? { signal: cancel.signal } : {}),
          onSent: () => {
            sent = true;
          },
          onReply: (reply) => {
            // A refused start (its batch stopped at a failure) is never armed.
            if (this.#op !== op || reply.result.status !== Status.OK || reply.command !== 'reg-batch') return;
            // STATUS right after the enabling write, then BRR: which start this one is.
            this.#arm(op, reply.mark, parseChannelStatus(reply.values, reply.values.length - 5).starts);
          },
        },
      )
      .then(
        (r) => r,
        (error: unknown) => ({ linkError: error }) as const,
      )
      .finally(() => cancel?.detach());
    if ('linkError' in result) {
      this.#end(op);
      // Never sent (a revoked handle, a link already down): nothing ran. A
      // board reset or recover() stopped the channel whatever it did.
      return { ok: false, error: result.linkError, ran: sent ? 'unknown' : 'no' };
    }
    if (result.failure) {
      this.#end(op);
      // The batch stopped at its failure: the enabling write, last, never ran.
      return { ok: false, error: result.failure.error, ran: 'no' };
    }
    // The start's first write disabled whatever a raw start left running on the channel.
    this.#internals.ledger.channelIdle(ch.channel);
    // The batch's last value: BRR.
    this.#frameMsValue = frameMsFrom(result.values.at(-1)!, this.#board.hello.usart1ClockHz);
    this.#lastConfiguration = configuration;
    return { ok: true };
  }

  /** The start's reply arrived: hand over what came meanwhile that is this operation's. */
  #arm(op: Operation, mark: number, startId: number): void {
    op.armed = true;
    this.#startId = startId;
    op.sink.accepted?.();
    if (op.stopped) {
      // Stopped before its reply came: accepted, and over.
      this.#end(op);
      return;
    }
    // Each delivery may end the operation (its sink releases the channel): then the rest is not its.
    for (const e of op.held.splice(0)) {
      if (this.#op !== op) return;
      if (e.kind === 'dma') {
        if (e.starts === startId) op.sink.dma(e);
      } else if (usartEventStart(e, this.channel.channel) !== undefined) {
        if (this.#namesAnother(e)) this.#staleUsartEvents++;
        else op.sink.usart(e);
      } else if (!counterBefore(e.counter, mark)) {
        op.sink.usart(e); // firmware before 2.4: sent after the start's reply
      }
    }
    if (op.lost && this.#op === op) op.sink.eventsLost(true);
  }

  /** A USART event that names a start of this channel other than the current operation's. */
  #namesAnother(e: UsartEvent): boolean {
    const start = usartEventStart(e, this.channel.channel);
    return start !== undefined && start !== this.#startId;
  }

  /** USART events ignored because they named an earlier (or other) start of this channel. */
  get staleUsartEvents(): number {
    return this.#staleUsartEvents;
  }

  #hold(op: Operation, e: DmaEvent | UsartEvent): void {
    if (op.held.length < MAX_HELD_EVENTS) op.held.push(e);
    else op.lost = true;
  }

  /** Ends `op` if it is still the channel's operation. */
  #end(op: Operation): void {
    if (this.#op === op) this.#op = undefined;
  }

  /**
   * Disables the channel and reads where it stopped. Once this resolves the
   * channel is confirmed stopped: its memory may be reused.
   */
  async stop(): Promise<ChannelState> {
    const op = this.#op;
    if (op) op.stopped = true;
    const state = await this.readState(true);
    this.#internals.ledger.channelIdle(this.channel.channel);
    // A start still unanswered ran before this stop (requests run in
    // order): its reply, when it comes, still tells its operation it was
    // accepted (see arm), then the operation ends.
    if (op?.armed) this.#end(op);
    return state;
  }

  /** Forgets the current operation (it completed). The channel keeps EN until the next start. */
  release(): void {
    this.#op = undefined;
  }

  /**
   * Reads the channel's state at one instant (CCR, CNDTR and the completion
   * count together, PROTOCOL.md §2 STATUS), disabling it first when `disable`.
   */
  async readState(disable = false): Promise<ChannelState> {
    const ch = this.channel;
    const en = fieldMask(ch.ccr, 'EN');
    const result = await this.#internals.batch(
      (b) => {
        if (disable) b.maskedWrite(ch.ccr.address, en, 0);
        b.status(ch.channel);
      },
      { handle: this.handle },
    );
    if (result.failure) throw result.failure.error;
    return parseChannelStatus(result.values);
  }

  /**
   * Waits on the board until USART1 has had time to send what TDR and the
   * shift register held when the DMA finished (two characters, plus
   * margin). Used only after lost events, when TC's event may have been one
   * of them: a bounded wait on the board, not a polling loop on the host.
   */
  async settleLine(): Promise<void> {
    const u = this.#usart;
    const brr = await this.#board.readRegister(u.brr.address, { handle: this.handle });
    const frameUs = (11 * Math.max(16, brr & 0xffff) * 1e6) / this.#board.hello.usart1ClockHz;
    const tc = fieldMask(u.isr, 'TC');
    const timeoutUs = Math.min(0xffff, Math.ceil(2.5 * frameUs));
    const result = await this.#internals.batch((b) => b.poll(u.isr.address, tc, tc, timeoutUs), {
      handle: this.handle,
    });
    if (result.failure && !(result.failure.error instanceof PollTimeoutError)) throw result.failure.error;
  }

  dispose(): void {
    this.#unsubscribe();
    this.#unsubscribeRevoke();
  }
}
