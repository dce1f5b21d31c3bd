/**
 * Transfer: the chapter's DMA transfer, owning its buffer and its serial
 * until it is waited on, stopped or disposed.
 *
 * - `wait()` resolves once the board's events show the transfer complete and
 *   hands back fresh owners (the objects passed in stay moved).
 * - `stop()` disables the channel and resolves once the board confirms it,
 *   with the number of items actually moved.
 * - `await using` disposes it: a transfer still running is stopped, and its
 *   memory goes back to the allocator only after the board confirmed the stop.
 * - Nothing relies on dispose running: a transfer that is never finished
 *   keeps its memory lent for good (never reused); once it is
 *   garbage-collected a FinalizationRegistry warns and the ledger counts
 *   the memory leaked, which only board.recover() returns.
 * - Nothing relies on one event arriving either: a loss noticed on the link
 *   makes it re-read the channel, and as a last resort it re-reads the
 *   channel once the transfer should be over and then at growing intervals,
 *   so `wait()` always ends once the transfer has (or the link has failed).
 * - A start whose outcome never came back is in doubt: `wait()` rejects with
 *   TransferInDoubtError, and the buffer and serial stay moved, their memory
 *   reserved, until board.recover() or a new session confirms the channel off.
 */

import type { BufferLoan, DmaBuffer } from '../board/dma-buffer.ts';
import { type DmaEvent, type UsartEvent, usartEventStart } from '../board/events.ts';
import { OwnerToken } from '../board/ownership.ts';
import type { DeviceResetError, LinkClosedError } from '../link/errors.ts';
import type { TimerId } from '../transport/timers.ts';
import type { ChannelEngine, ChannelState, OperationSink, StartSpec } from './channel-engine.ts';
import {
  DmaTransferError,
  SERIAL_ERROR_FLAGS,
  SerialError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';

export interface TransferResult<S> {
  readonly buffer: DmaBuffer;
  readonly serial: S;
}

export interface FinishedTransfer<S> extends TransferResult<S> {
  /**
   * Items the DMA moved: the whole buffer for a completed transfer, what
   * arrived before the line went idle for readUntilIdle(), what moved before
   * the channel stopped for stop().
   */
  readonly transferred: number;
}

export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** How a kind of transfer completes. */
export interface CompletionRule {
  /** The call that started it, for messages: 'writeAll()'. */
  readonly by: string;
  /** A write is complete when USART1's TC follows the DMA's TC: the last bit has left the wire. */
  readonly waitForLineIdle?: boolean;
  /** Reception until idle: complete at the first IDLE after data, returning the count. */
  readonly completeOnIdle?: boolean;
  /** Reception fails on ORE/FE/NE/PE (the bytes would be lost or wrong). */
  readonly failOnUsartErrors?: boolean;
}

type Outcome<S> =
  | { ok: true; result: TransferResult<S>; transferred: number }
  | { ok: false; error: unknown };

/** The safety net's re-reads: never sooner than this after the last, never further apart than the cap. */
const CHECK_MIN_MS = 250;
const CHECK_MAX_MS = 5_000;
/** USART_ISR.BUSY: a character is being received. */
const USART_ISR_BUSY = 1 << 16;

const leaks = new FinalizationRegistry<{ by: string; loan: BufferLoan; warn: (message: string) => void }>(
  ({ by, loan, warn }) => {
    // Nothing will ever stop or wait for it: the ledger counts its memory leaked.
    loan.leak();
    warn(
      `a Transfer started by ${by} was garbage-collected before it was waited on, stopped or disposed; ` +
        'its buffer memory stays reserved (never reused) until board.recover()',
    );
  },
);

export class Transfer<S> implements AsyncDisposable {
  readonly #token: OwnerToken;
  #dmaDone = false;
  #settled: Outcome<S> | undefined;
  #handedBack: TransferResult<S> | undefined;
  readonly #waiters = new Set<() => void>();
  /**
   * A stop (the caller's, or one that ends it on an event) is on its way.
   * Events and re-reads then change nothing; once set it stays set: each
   * path that sets it ends with the transfer settled.
   */
  #finishing = false;
  #resyncing = false;
  #resyncAgain = false;
  #checkTimer: TimerId | undefined;
  #checkDelayMs = CHECK_MIN_MS;
  /** CNDTR at the last safety-net re-read, to see a reception that went quiet. */
  #lastCheckedCndtr: number | undefined;
  /**
   * Resolves once the board accepted the start (rejects if it refused it, or
   * if the outcome is unknown). A reception receives only what reaches RX
   * after this: earlier bytes are discarded.
   */
  readonly started: Promise<void>;
  readonly #started: Promise<void>;
  readonly #items: number;
  /** The buffer's memory, lent by the ledger: private, so no caller can hand it back early. */
  readonly #loan: BufferLoan;
  readonly #owner: S;
  readonly #engine: ChannelEngine;
  readonly #rule: CompletionRule;
  readonly #restoreOnRefusal: () => void;

  /** @internal use `serial.writeAll()`, `serial.readExact()` and friends. */
  constructor(
    engine: ChannelEngine,
    spec: StartSpec,
    loan: BufferLoan,
    owner: S,
    rule: CompletionRule,
    restoreOnRefusal: () => void,
    warn: (message: string) => void,
  ) {
    this.#engine = engine;
    this.#rule = rule;
    this.#restoreOnRefusal = restoreOnRefusal;
    this.#token = new OwnerToken(
      'this Transfer',
      'a Transfer is consumed once; keep what wait() or stop() returned',
    );
    this.#loan = loan;
    this.#owner = owner;
    this.#items = (spec.memory.length ?? loan.length) / (spec.options.dataSize / 8);
    leaks.register(this, { by: rule.by, loan, warn }, this);
    const sink: OperationSink = {
      dma: (e) => this.#onDma(e),
      usart: (e) => this.#onUsart(e),
      eventsLost: () => void this.#resync(),
      gone: (error) => this.#onGone(error),
    };
    this.#started = engine.start(spec, sink).then((outcome) => {
      if (outcome.ok) {
        this.#scheduleCheck(this.#firstCheckMs());
        return;
      }
      leaks.unregister(this);
      if (outcome.ran === 'no') {
        // Refused, or never sent: the memory and the serial were never used.
        this.#restoreOnRefusal();
        this.#settle({ ok: false, error: outcome.error });
        throw outcome.error;
      }
      // The start may have run: everything stays moved and locked.
      const error = new TransferInDoubtError(rule.by, outcome.error);
      this.#settle({ ok: false, error });
      throw error;
    });
    // The rejection is delivered through wait()/stop(); don't let it go unhandled here.
    this.#started.catch(() => {});
    // The caller's promise is a separate one: an own `then` or `constructor` set on it changes nothing inside.
    this.started = this.#started.then(() => undefined);
    this.started.catch(() => {});
    // Its state lives in private fields; frozen, `started` cannot be swapped either.
    Object.freeze(this);
  }

  /** True once the transfer is complete (or failed): wait() will not block. */
  isDone(): boolean {
    return this.#settled !== undefined;
  }

  /**
   * Resolves with fresh owners of the buffer and the serial once the board
   * reports completion. A timeout or an abort rejects but leaves the
   * transfer running: wait again, or stop it. Without a timeout it still
   * ends: when the transfer does (even if its completion events were lost),
   * or when the link to the board fails.
   */
  async wait(options: WaitOptions = {}): Promise<FinishedTransfer<S>> {
    this.#token.check();
    await this.#until(options);
    this.#token.move('wait()');
    const outcome = this.#settled!;
    leaks.unregister(this);
    if (!outcome.ok) throw outcome.error;
    return { ...outcome.result, transferred: outcome.transferred };
  }

  /**
   * Stops the DMA and resolves once the board confirms it, with fresh owners
   * and the number of items moved. Stopping a finished transfer just hands
   * its owners back.
   */
  async stop(): Promise<FinishedTransfer<S>> {
    this.#token.check();
    if (!this.#finishing) {
      this.#finishing = true;
      try {
        await this.#started;
        // Stopping a finished transfer sends nothing.
        if (this.#settled === undefined) this.#complete(this.#items - (await this.#engine.stop()).cndtr);
      } catch (error) {
        this.#settle({ ok: false, error });
      }
    }
    await this.#until({});
    this.#token.move('stop()');
    leaks.unregister(this);
    const outcome = this.#settled!;
    if (!outcome.ok) throw outcome.error;
    return { ...outcome.result, transferred: outcome.transferred };
  }

  /** `await using`: stops a running transfer and frees its buffer's memory once the stop is confirmed. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      const { buffer } = await this.stop();
      // The transfer owned the buffer: dropping the transfer drops it (a view just unlocks).
      buffer[Symbol.dispose]();
    } catch {
      // Already waited on or stopped (MovedError), refused, failed, in doubt
      // or gone: nothing is handed back, and memory the DMA may still use
      // stays locked, so there is nothing to undo.
    }
  }

  // ---------------------------------------------------------------- events

  #onDma(e: DmaEvent): void {
    if (this.#settled !== undefined || this.#finishing) return;
    if (e.te) {
      void this.#failWithTransferError(e.cndtr);
      return;
    }
    if (e.tc) this.#markDmaDone();
  }

  /**
   * The engine hands over only USART events that name this transfer's start
   * (firmware 2.4 and later), or that name none (older firmware) and came
   * after the start's reply.
   */
  #onUsart(e: UsartEvent): void {
    if (this.#settled !== undefined || this.#finishing) return;
    if (this.#rule.failOnUsartErrors) {
      const errors = e.flags & SERIAL_ERROR_FLAGS;
      if (errors !== 0) {
        void this.#failAfterStop(errors);
        return;
      }
    }
    if (this.#rule.completeOnIdle && e.idle) {
      if (usartEventStart(e, this.#engine.channel.channel) === undefined) void this.#completeOnIdle(e);
      // IDLE follows a character, which may have come before this start
      // (and was dropped): only one received since then ends the reception.
      else if (this.#cndtrAt(e) < this.#items) void this.#completeAfterStop();
      return;
    }
    if (e.tc && this.#dmaDone && this.#rule.waitForLineIdle) this.#complete(this.#items);
  }

  /** This channel's CNDTR when the USART event was raised. */
  #cndtrAt(e: UsartEvent): number {
    return this.#engine.channel.channel === 1 ? e.cndtr1 : e.cndtr2;
  }

  /**
   * An IDLE of firmware before 2.4, which names no start, ends the
   * reception only if the channel agrees: a delayed IDLE of an earlier
   * reception (or boot) can arrive during this one, and shows itself by
   * nothing received since this start (IDLE needs a character first), or
   * by a count the channel has already gone below (CNDTR only counts down).
   */
  async #completeOnIdle(e: UsartEvent): Promise<void> {
    let state: ChannelState;
    try {
      state = await this.#engine.readState();
    } catch {
      // Unreadable now: the stop that completes it reads the count anyway.
      void this.#completeAfterStop();
      return;
    }
    if (this.#settled !== undefined || this.#finishing) return;
    const atEvent = this.#cndtrAt(e);
    const nothingReceived = state.cndtr === this.#items;
    const countWentBack = atEvent < state.cndtr;
    if ((state.ccr & 1) !== 0 && (nothingReceived || countWentBack)) return;
    void this.#completeAfterStop();
  }

  /** The DMA moved every item (`lineIdle`: and the line has sent the last of them). */
  #markDmaDone(lineIdle = false): void {
    this.#dmaDone = true;
    if (this.#rule.completeOnIdle) {
      // The buffer filled before the line went idle.
      void this.#completeAfterStop();
      return;
    }
    if (!this.#rule.waitForLineIdle || lineIdle) this.#complete(this.#items);
  }

  /** Events were lost on the link, or the safety net is due: read the channel once and infer what they said. */
  async #resync(check = false): Promise<void> {
    if (this.#settled !== undefined || this.#finishing) return;
    // One re-read at a time; a loss noticed meanwhile asks for one more.
    if (this.#resyncing) {
      this.#resyncAgain = true;
      return;
    }
    this.#resyncing = true;
    try {
      let fromCheck = check;
      do {
        this.#resyncAgain = false;
        await this.#resyncOnce(fromCheck);
        fromCheck = false;
      } while (this.#resyncAgain && this.#settled === undefined && !this.#finishing);
    } finally {
      this.#resyncing = false;
    }
  }

  async #resyncOnce(check: boolean): Promise<void> {
    let state: ChannelState;
    try {
      state = await this.#engine.readState();
    } catch (error) {
      // The board cannot be reached: whether the DMA still runs is unknown,
      // so the owners stay moved and the memory locked (settle hands nothing back).
      this.#settle({ ok: false, error });
      return;
    }
    if (this.#settled !== undefined || this.#finishing) return;
    const enabled = (state.ccr & 1) !== 0;
    if (!enabled) {
      // Only a transfer error clears EN behind our back.
      void this.#failWithTransferError(state.cndtr);
      return;
    }
    if (state.cndtr === 0) {
      if (this.#rule.waitForLineIdle) {
        // The TC event may have been the lost one (the board clears TC when it
        // reports it): at most two characters were left when the DMA finished,
        // so once the line has had time for them it is idle.
        await this.#engine.settleLine().catch(() => {});
      }
      this.#markDmaDone(true);
      return;
    }
    if (check && this.#rule.completeOnIdle) {
      // Reception until idle whose IDLE event was lost: the board clears IDLE
      // when it reports it, so the flag cannot be re-read. Data came, none
      // since the last re-read (far more than a character ago), and nothing is
      // being received: the line went idle.
      const quiet = state.cndtr === this.#lastCheckedCndtr && (state.usartIsr & USART_ISR_BUSY) === 0;
      if (quiet && state.cndtr < this.#items) {
        void this.#completeAfterStop();
        return;
      }
      this.#lastCheckedCndtr = state.cndtr;
    }
  }

  /** When the transfer should be over if nothing went wrong, plus a margin (ms from its start). */
  #firstCheckMs(): number {
    const frameMs = this.#engine.frameMs;
    const expected = frameMs === undefined ? 0 : frameMs * this.#items;
    return Math.max(CHECK_MIN_MS, Math.ceil(expected * 1.25) + 100);
  }

  #scheduleCheck(ms: number): void {
    if (this.#settled !== undefined) return;
    const timers = this.#engine.timers;
    this.#checkTimer = timers.setTimeout(() => {
      this.#checkTimer = undefined;
      void this.#resync(true).then(() => {
        this.#checkDelayMs = Math.min(CHECK_MAX_MS, this.#checkDelayMs * 2);
        if (this.#checkTimer === undefined) this.#scheduleCheck(this.#checkDelayMs);
      });
    }, ms);
  }

  #onGone(error: DeviceResetError | LinkClosedError): void {
    // The board reset or the link is gone: the owners are void. The region
    // stays locked: after a closed link nobody knows what the DMA does.
    this.#settle({ ok: false, error });
  }

  async #failWithTransferError(cndtr: number): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    // EN is already clear (hardware did it on TE); stop() confirms and releases the channel.
    try {
      const state = await this.#engine.stop();
      const transferred = this.#items - (state.cndtr || cndtr);
      const recovered = this.#handBack();
      this.#settle({
        ok: false,
        error: new DmaTransferError<S>(this.#engine.channel.channel, transferred, recovered),
      });
    } catch (error) {
      this.#settle({ ok: false, error });
    }
  }

  async #failAfterStop(errors: number): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    try {
      const state = await this.#engine.stop();
      const error = new SerialError<S>(errors, this.#handBack(), this.#items - state.cndtr);
      this.#settle({ ok: false, error });
    } catch (e) {
      this.#settle({ ok: false, error: e });
    }
  }

  async #completeAfterStop(): Promise<void> {
    if (this.#finishing) return;
    this.#finishing = true;
    try {
      const state = await this.#engine.stop();
      this.#complete(this.#items - state.cndtr);
    } catch (error) {
      this.#settle({ ok: false, error });
    }
  }

  // ---------------------------------------------------------------- plumbing

  #complete(transferred: number): void {
    this.#settle({ ok: true, result: this.#handBack(), transferred });
  }

  /**
   * Unlocks the memory and makes fresh owners, once. Called once the DMA is
   * confirmed done or stopped; a later call (a re-read that was waiting on
   * the line while the events ended the transfer) changes nothing: the
   * owners, and the channel, may already serve the next transfer.
   */
  #handBack(): TransferResult<S> {
    if (this.#handedBack) return this.#handedBack;
    this.#engine.release();
    this.#handedBack = { buffer: this.#loan.handBack(), serial: this.#owner };
    return this.#handedBack;
  }

  #settle(outcome: Outcome<S>): void {
    if (this.#settled !== undefined) return;
    this.#settled = outcome;
    // Failed with nothing handed back (and not refused): a DMA may still run
    // on the memory, and nothing will say when it stops.
    if (!outcome.ok)
      this.#loan.doubt(outcome.error instanceof Error ? outcome.error.message : String(outcome.error));
    if (this.#checkTimer !== undefined) {
      this.#engine.timers.clearTimeout(this.#checkTimer);
      this.#checkTimer = undefined;
    }
    for (const w of [...this.#waiters]) w();
    this.#waiters.clear();
  }

  #until(options: WaitOptions): Promise<void> {
    if (this.#settled !== undefined) return Promise.resolve();
    const { signal, timeoutMs } = options;
    if (signal?.aborted) return Promise.reject(new TransferAbortedError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const cleanup = () => {
        this.#waiters.delete(done);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const done = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(new TransferAbortedError(signal?.reason));
      };
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          cleanup();
          reject(new TransferTimeoutError(timeoutMs));
        }, timeoutMs);
      }
    });
  }
}
