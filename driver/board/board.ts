/**
 * The board: registers, memory and events of the bridge over a link, with
 * the board's refusals turned into typed errors and its resets into the
 * revocation of every handle issued before them.
 *
 * Memory operations are split into the largest requests HELLO allows and
 * pipelined (the link keeps a window of them in flight); the board executes
 * them in order, so the pieces land in order.
 */

import { privateChipCopy } from '../chip/frozen.ts';
import { STM32G071 } from '../chip/stm32g071.ts';
import type { ChipDescription } from '../chip/types.ts';
import { DeviceResetError, LinkProtocolError, LinkTimeoutError, SessionEndedError } from '../link/errors.ts';
import { Link, type LinkOptions, type LinkStats, type SequencedRequest } from '../link/link.ts';
import { switchLinkRate } from '../link/rate-switch.ts';
import {
  type BatchOp,
  type BoardStatus,
  Capability,
  type HelloInfo,
  type Reply,
  type ReplyTo,
  Status,
} from '../protocol/index.ts';
import { realTimers, type Timers } from '../transport/timers.ts';
import type { Transport } from '../transport/transport.ts';
import type { ArenaRange } from './arena-allocator.ts';
import { type BatchBuilder, type BatchResult, isWholeUpTo, snapshotBatch, splitBatch } from './batch.ts';
import { type BufferHost, createDmaBuffer, type DmaBuffer } from './dma-buffer.ts';
import {
  AlreadyTakenError,
  BoardRecoveringError,
  type BoardRefusedError,
  LinkRateError,
  OutOfArenaError,
  TransportInUseError,
} from './errors.ts';
import { type BoardNotification, toNotification } from './events.ts';
import { type Handle, HandleRegistry } from './handles.ts';
import { validateHello } from './hello.ts';
import { copyHostBytes } from './host-bytes.ts';
import { registerBoardInternals } from './internals.ts';
import { ArenaLedger, type ArenaUsage, type RegionSnapshot } from './ledger.ts';
import type { OperationOptions } from './operation-options.ts';
import { RawAccess } from './raw-access.ts';
import { type RefusalContext, refusalToError } from './refusals.ts';

/**
 * The host link's rate: 'max' (the default) negotiates the highest rate the
 * board offers that the transport can take, and stays at the boot rate when
 * that fails; a number asks for exactly that rate and fails with
 * LinkRateError when it cannot be had; 'boot' keeps the rate the board
 * booted at.
 */
export type LinkRateChoice = 'max' | 'boot' | number;

/** The rate the host link runs at, and how it came to be. */
export interface LinkRateInUse {
  readonly baud: number;
  readonly bootBaud: number;
  /** Why the link is below the rate asked for, when it is. */
  readonly note: string | undefined;
}

export interface BoardOptions extends LinkOptions {
  /** The chip the board must be; defaults to the STM32G071. */
  chip?: ChipDescription;
  /** The host link's rate (PROTOCOL.md §2, SET_LINK_BAUD); default 'max'. */
  linkBaud?: LinkRateChoice;
}

export type { OperationOptions } from './operation-options.ts';

export type BoardListener = (notification: BoardNotification) => void;

export class Board {
  readonly handles: HandleRegistry;
  readonly #listeners = new Set<BoardListener>();
  readonly #claims = new Map<string, number>();
  #helloValue: HelloInfo;
  /** The one record of what every byte of the arena is for (see ArenaLedger). */
  #ledger: ArenaLedger;
  /** What this board's buffers reach it through (a buffer of another board has another). */
  readonly #bufferHost: BufferHost;
  /**
   * Register and memory access that bypasses the safe API: this driver's
   * `unsafe` (see RawAccess for what it can break and what the ledger still
   * refuses).
   */
  readonly raw: RawAccess;
  #recovering: Promise<void> | undefined;
  #reconnecting: Promise<HelloInfo> | undefined;
  #rateNote: string | undefined;

  /** The chip description this board decides by: a deep-frozen private copy. */
  readonly #chip: ChipDescription;
  readonly #link: Link;
  readonly #rateChoice: LinkRateChoice;

  private constructor(
    link: Link,
    chip: ChipDescription,
    readonly timers: Timers,
    name: string,
    rateChoice: LinkRateChoice,
  ) {
    this.#link = link;
    this.#rateChoice = rateChoice;
    this.#chip = chip;
    this.#helloValue = link.helloInfo;
    this.handles = new HandleRegistry(this.#helloValue.bootEpoch);
    this.#ledger = this.#newLedger();
    // Revoked handles: owned memory is free, lent memory in doubt until the board confirms its channels off.
    this.handles.onRevoke((reset, generation) => this.#ledger.revoked(generation, reset));
    const board = this;
    this.#bufferHost = {
      name,
      readMemory: (address, length, options) => this.readMemory(address, length, options),
      writeMemory: (address, data, options) => this.#writeMemoryChecked(address, data, options),
      checkHandle: (handle) => this.handles.check(handle),
    };
    const internals = {
      name,
      chip,
      get ledger() {
        return board.#ledger;
      },
      batch: (ops: readonly BatchOp[] | ((builder: BatchBuilder) => unknown), options?: OperationOptions) =>
        this.#runBatch(ops, options),
      writeRegister: (address: number, value: number, options?: OperationOptions) =>
        this.#writeRegisterChecked(address, value, options),
    };
    registerBoardInternals(this, internals);
    this.raw = new RawAccess({
      ...internals,
      get ledger() {
        return board.#ledger;
      },
      writeMemory: (address, bytes, options) => this.#writeMemoryChecked(address, bytes, options),
    });
    link.subscribe((n) => {
      switch (n.kind) {
        case 'event':
          this.#notify(toNotification(n.event));
          return;
        case 'events-lost':
          this.#notify({ kind: 'events-lost', lost: n.lost });
          return;
        case 'frame-damaged':
          this.#notify({ kind: 'events-lost', lost: 0, suspected: true });
          return;
        case 'session-opening':
          // Every path that opens a session (reconnect, recover, a rate
          // switch or fallback) comes here synchronously, before the HELLO
          // is sent: the new session stops every channel and resets USART1
          // (PROTOCOL.md §4), so whatever was made in the old one is void
          // before anything of the new one can reach the board.
          this.handles.revokeAll(new DeviceResetError(this.handles.epoch, this.handles.epoch, 'new-session'));
          return;
        case 'reset':
          // Revoked, and nothing freed: lent memory goes in doubt. News of a
          // reset that is no reply of this session (a BOOT event, a
          // NO_SESSION) may be a frame of an older boot delayed on the line,
          // while the board never reset and its channels still run. Only the
          // board's word frees it: a new session's HELLO reply (reconnect(),
          // recover()) or RESET_PERIPHERALS answered.
          this.handles.revokeAll(n.error);
          this.#notify({ kind: 'reset', error: n.error });
          return;
        case 'closed':
          this.#notify({ kind: 'closed', error: n.error });
          return;
      }
    });
    // State in private fields; frozen, `handles`, `raw` and `timers` cannot be swapped by whoever holds the board.
    Object.freeze(this);
  }

  /**
   * Opens a link on `transport`, checks the HELLO reply (protocol version,
   * sane limits, the chip) and returns the board. The transport is closed
   * when anything fails.
   */
  static async open(transport: Transport, options: BoardOptions = {}): Promise<Board> {
    // The board decides by its own frozen copy: the caller's object may change after this.
    const chip = privateChipCopy(options.chip ?? STM32G071);
    // One board per transport: a second would read the first one's replies (and leave the transport alone).
    if (transportsInUse.has(transport)) {
      throw new TransportInUseError(transport.info?.description ?? 'this transport');
    }
    transportsInUse.add(transport);
    let link: Link;
    try {
      link = await Link.open(transport, options);
    } catch (e) {
      transportsInUse.delete(transport);
      throw e;
    }
    // Free for another Board.open once the link is closed, by close() or by the line.
    link.subscribe((n) => {
      if (n.kind === 'closed') transportsInUse.delete(transport);
    });
    try {
      validateHello(link.helloInfo, chip);
    } catch (e) {
      await link.close();
      transportsInUse.delete(transport);
      throw e;
    }
    const name = transport.info?.description
      ? `the board on ${transport.info.description}`
      : `the board ${[...link.helloInfo.uid].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    const board = new Board(link, chip, options.timers ?? realTimers, name, options.linkBaud ?? 'max');
    try {
      await board.#negotiateRate();
    } catch (e) {
      await link.close();
      transportsInUse.delete(transport);
      throw e;
    }
    return board;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  /** The host link's rate now, the board's boot rate, and why it is lower than asked for. */
  get linkRate(): LinkRateInUse {
    const h = this.#helloValue;
    return { baud: h.linkBaud, bootBaud: h.bootLinkBaud ?? h.linkBaud, note: this.#rateNote };
  }

  /**
   * Moves the host link to the rate the options asked for (PROTOCOL.md §2).
   * With 'max', a failure leaves the link at the boot rate with a note; with
   * an exact rate it throws LinkRateError.
   */
  async #negotiateRate(resetsSeen = 0): Promise<void> {
    this.#rateNote = undefined;
    const choice = this.#rateChoice;
    if (choice === 'boot') return;
    const hello = this.#link.helloInfo;
    const transport = this.#link.transportInUse;
    const exact = typeof choice === 'number';
    const refuse = (why: string, kind: LinkRateError['kind'] = 'unavailable'): void => {
      if (exact) throw new LinkRateError(choice, why, kind);
      this.#rateNote = why;
    };
    if (exact && choice === hello.linkBaud) return;
    if (!(hello.capabilities & Capability.SET_LINK_BAUD) || hello.linkRates.length === 0) {
      const { major, minor, patch } = hello.firmwareVersion;
      return refuse(`the firmware (${major}.${minor}.${patch}) has a fixed rate of ${hello.linkBaud} baud`);
    }
    if (!transport.setBaudRate) {
      // A link without a line rate (TCP, a pipe) is as fast as it is: nothing to say.
      if (exact) refuse('this transport has no line rate to change');
      return;
    }
    const limit = transport.maxBaudRate ?? Number.POSITIVE_INFINITY;
    let target: number;
    if (exact) {
      if (!hello.linkRates.includes(choice)) {
        return refuse(`the board offers ${hello.linkRates.join(', ')} baud`);
      }
      if (choice > limit) return refuse(`the transport goes up to ${limit} baud`);
      target = choice;
    } else {
      const usable = hello.linkRates.filter((r) => r <= limit);
      if (usable.length === 0) return;
      target = Math.max(...usable);
    }
    if (target === hello.linkBaud) return;
    let outcome: Awaited<ReturnType<typeof switchLinkRate>>;
    try {
      outcome = await switchLinkRate(this.#link, transport, target, (ms) => this.#sleep(ms));
    } catch (error) {
      if (!(error instanceof DeviceResetError) || resetsSeen >= 2) throw error;
      // The board reset before it switched: find it (at either rate) and start over.
      this.#helloValue = validateHello(await this.#reopenAtEitherRate(), this.#chip);
      return this.#negotiateRate(resetsSeen + 1);
    }
    if (outcome.kind === 'refused') return refuse(`the board refused ${target} baud`, 'failed');
    this.#helloValue = validateHello(outcome.hello, this.#chip);
    if (outcome.kind === 'fell-back') {
      // A board that reset in the middle came back at its boot rate: try again.
      if (outcome.hello.bootEpoch !== hello.bootEpoch && resetsSeen < 2)
        return this.#negotiateRate(resetsSeen + 1);
      return refuse(
        `${target} baud did not work (${outcome.why}); the link is back at ${outcome.baud} baud`,
        'failed',
      );
    }
  }

  /** The chip this board is (deep-frozen: what the driver decides by cannot be changed). */
  get chip(): ChipDescription {
    return this.#chip;
  }

  get hello(): HelloInfo {
    return this.#helloValue;
  }

  get epoch(): number {
    return this.#helloValue.bootEpoch;
  }

  get arena(): { base: number; size: number } {
    return { base: this.#helloValue.arenaBase, size: this.#helloValue.arenaSize };
  }

  /** Largest MEM_READ and MEM_WRITE pieces this board takes (PROTOCOL.md §2). */
  get limits(): { memRead: number; memWrite: number; batchPayload: number } {
    const h = this.#helloValue;
    return {
      memRead: h.maxReplyPayload - 8,
      memWrite: h.maxRequestPayload - 4,
      batchPayload: h.maxRequestPayload,
    };
  }

  get stats(): Readonly<LinkStats> {
    return this.#link.stats;
  }

  get state(): Link['state'] {
    return this.#link.state;
  }

  hasCapability(bit: number): boolean {
    return (this.#helloValue.capabilities & bit) !== 0;
  }

  /** Events (typed), lost events, resets and closure. Returns the unsubscribe function. */
  subscribe(listener: BoardListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Takes a singleton resource (e.g. 'DMA1 channel 1') once per boot of the
   * board: a second take throws AlreadyTakenError; after a reset the old
   * handle is revoked and the resource may be taken again.
   */
  claim(resource: string): Handle {
    this.#assertNotRecovering('take a peripheral');
    const generation = this.#claims.get(resource);
    if (generation === this.handles.generation) throw new AlreadyTakenError(resource);
    this.#claims.set(resource, this.handles.generation);
    return this.handles.issue(resource);
  }

  /**
   * Gives back a claim whose taking failed half-way (the peripheral was never
   * handed out), so it can be taken again. Nothing happens for a handle
   * from before a reset or recover(), nor for the handle of another resource.
   */
  unclaim(resource: string, handle: Handle): void {
    if (this.handles.isValid(handle) && handle.what === resource) this.#claims.delete(resource);
  }

  // ------------------------------------------------------------ registers

  async readRegister(address: number, options: OperationOptions = {}): Promise<number> {
    checkU32(address, 'a register address');
    const reply = await this.#send({ command: 'reg-read', address }, options);
    const r = reply.result;
    if (r.status !== Status.OK) throw this.#refusal('REG_READ', r, { address });
    return r.value;
  }

  async #writeRegisterChecked(address: number, value: number, options: OperationOptions = {}): Promise<void> {
    checkU32(address, 'a register address');
    checkU32(value, 'a register value');
    const reply = await this.#send({ command: 'reg-write', address, value }, options);
    const r = reply.result;
    if (r.status !== Status.OK) throw this.#refusal('REG_WRITE', r, { address });
  }

  /**
   * Runs register operations in order on the board, stopping at the first
   * failure, which is returned (not thrown) with its index. A batch larger
   * than one request is split; the pieces run one after the other, so the
   * stop-at-first-failure rule holds across them. Link failures throw.
   * Reached through board.raw.batch and the safe API's internals.
   */
  async #runBatch(
    ops: readonly BatchOp[] | ((builder: BatchBuilder) => unknown),
    options: OperationOptions = {},
  ): Promise<BatchResult> {
    // Each operation's fields read once, checked, frozen: what is sent is what was checked.
    const list = snapshotBatch(ops);
    const result: BatchResult = { executed: 0, values: [] };
    const pieces = splitBatch(list, this.limits.batchPayload);
    // Every piece is sent in the session the batch began in, or not at all.
    const session = this.#link.sessionId;
    for (const piece of pieces) {
      // POLLs wait on the board: give each request the time its polls may take.
      const pollMs = piece.reduce((t, op) => t + (op.op === 'poll' ? op.timeoutUs / 1000 : 0), 0);
      const last = piece === pieces[pieces.length - 1];
      const reply = await this.#send(
        { command: 'reg-batch', ops: piece },
        options,
        Math.ceil(pollMs),
        (r) => last || r.result.status !== Status.OK,
        session,
      );
      result.values.push(...reply.values);
      const r = reply.result;
      if (r.status !== Status.OK) {
        const index = result.executed + reply.executed;
        const op = list[index]!;
        result.executed = index;
        const command = `REG_BATCH ${op.op.toUpperCase()}`;
        result.failure = {
          index,
          op,
          error: this.#refusal(command, r, 'address' in op ? { address: op.address } : {}),
        };
        return result;
      }
      result.executed += reply.executed;
    }
    return result;
  }

  // ------------------------------------------------------------ arena

  /**
   * Allocates `length` bytes of the board's DMA arena. The buffer's address
   * never changes; its memory returns to the allocator only through
   * `free()` (refused while a transfer owns it) or `recover()`.
   */
  alloc(length: number, options: { align?: number } = {}): DmaBuffer {
    this.#assertNotRecovering('allocate');
    const region = this.#ledger.allocate(length, options.align ?? 4);
    const handle = this.handles.issue('this DmaBuffer');
    return createDmaBuffer(this.#bufferHost, region, handle);
  }

  /**
   * @internal for tests: the arena as the allocator sees it, to check that
   * no region it could hand out is one a DMA channel still uses.
   */
  inspectArena(): { free: ArenaRange[]; live: ArenaRange[] } {
    return this.#ledger.ranges();
  }

  /**
   * Bytes of the arena by state (they add up to its size): free, owned by
   * DmaBuffers, lent to transfers, in doubt (a DMA may run there; only the
   * board's word that its channels are off frees it: board.recover() or a
   * new session), leaked (lent to a transfer dropped before it finished);
   * with the number of buffers and the largest free block.
   */
  arenaUsage(): ArenaUsage {
    return this.#ledger.usage();
  }

  /** Every region of the arena, free ones included, by address: a read-only copy of the ledger. */
  arenaRegions(): readonly RegionSnapshot[] {
    return Object.freeze(this.#ledger.snapshot());
  }

  /**
   * Starts over: reopens the session if the board reset, stops both DMA
   * channels and resets USART1 (confirmed by the board's reply), revokes
   * every handle issued before (buffers, transfers, peripherals) and gives
   * the whole arena back to the allocator. The way out after a transfer was
   * forgotten, a link was lost, or the board reset.
   */
  async recover(): Promise<void> {
    if (this.#recovering) return this.#recovering;
    // Revoked first, synchronously: every operation started from here on
    // with an older handle fails before it is sent, so nothing can start a
    // channel behind the reset below. Allocation and taking peripherals wait
    // until the board confirmed it (BoardRecoveringError meanwhile).
    this.handles.revokeAll(new DeviceResetError(this.handles.epoch, this.handles.epoch, 'recover'));
    const revokedAt = this.handles.generation;
    this.#recovering = (async () => {
      // A session being opened: let it open; whatever was queued in it runs
      // before the reset below, which then stops it.
      if (this.#reconnecting) await this.#reconnecting.catch(() => {});
      if (this.#link.state !== 'open') await this.reconnect();
      else {
        try {
          await this.resetPeripherals();
        } catch (error) {
          // The board reset (or the link lost it, or a new session began)
          // under the request: a new session resets everything too.
          const sessionGone =
            error instanceof DeviceResetError ||
            error instanceof LinkTimeoutError ||
            error instanceof SessionEndedError;
          if (!sessionGone) throw error;
          await this.reconnect();
        }
      }
      // Confirmed by the board: no DMA channel runs; what was in doubt before recover() is free.
      this.#boardIdle(revokedAt);
    })();
    try {
      await this.#recovering;
    } finally {
      this.#recovering = undefined;
    }
  }

  // ------------------------------------------------------------ memory

  async readMemory(address: number, length: number, options: OperationOptions = {}): Promise<Uint8Array> {
    this.#checkArena('MEM_READ', address, length);
    const chunk = this.limits.memRead;
    const out = new Uint8Array(length);
    const count = Math.ceil(length / chunk);
    const lastReply = countdown(count);
    // Every piece is sent at once (pipelined), in order.
    const pieces = Array.from({ length: count }, async (_, i) => {
      const off = i * chunk;
      const n = Math.min(chunk, length - off);
      const reply = await this.#send(
        { command: 'mem-read', address: address + off, length: n },
        options,
        0,
        lastReply,
      );
      const r = reply.result;
      if (r.status !== Status.OK) throw this.#refusal('MEM_READ', r, { address: address + off, length: n });
      if (r.data.length !== n) {
        throw new LinkProtocolError(
          `MEM_READ of ${n} bytes at 0x${(address + off).toString(16)} came back with ${r.data.length}: ` +
            'the firmware does not follow PROTOCOL.md §2',
        );
      }
      out.set(r.data, off);
    });
    await settleInOrder(pieces);
    return out;
  }

  async #writeMemoryChecked(
    address: number,
    bytes: Uint8Array,
    options: OperationOptions = {},
  ): Promise<void> {
    this.#checkArena('MEM_WRITE', address, bytes.length);
    const chunk = this.limits.memWrite;
    const count = Math.ceil(bytes.length / chunk);
    const lastReply = countdown(count);
    // Every piece is sent at once (pipelined), in order.
    const pieces = Array.from({ length: count }, async (_, i) => {
      const off = i * chunk;
      const data = bytes.slice(off, off + chunk);
      const reply = await this.#send(
        { command: 'mem-write', address: address + off, data },
        options,
        0,
        lastReply,
      );
      const r = reply.result;
      if (r.status !== Status.OK)
        throw this.#refusal('MEM_WRITE', r, { address: address + off, length: data.length });
    });
    await settleInOrder(pieces);
  }

  /** Disables DMA1 channels 1-2, clears their flags and DMAMUX, resets USART1. */
  async resetPeripherals(options: OperationOptions = {}): Promise<void> {
    const reply = await this.#send({ command: 'reset-peripherals' }, options);
    const r = reply.result;
    if (r.status !== Status.OK) throw this.#refusal('RESET_PERIPHERALS', r, {});
  }

  /** A round trip that also acknowledges every request before it. */
  /**
   * The board's health since it booted (PROTOCOL.md §2, BOARD_STATUS): why
   * it last reset, host-link bytes it lost or received damaged, rate
   * fallbacks, dropped events, the last HardFault.
   */
  async status(options: OperationOptions = {}): Promise<BoardStatus> {
    const reply = await this.#send({ command: 'board-status' }, options);
    const r = reply.result;
    if (r.status !== Status.OK) throw this.#refusal('BOARD_STATUS', r, {});
    return r.board;
  }

  async ping(data: Uint8Array = new Uint8Array(0), options: OperationOptions = {}): Promise<Uint8Array> {
    const reply = await this.#send({ command: 'ping', data: copyHostBytes(data, 'board.ping()') }, options);
    const r = reply.result;
    if (r.status !== Status.OK) throw this.#refusal('PING', r, {});
    return r.data;
  }

  // ------------------------------------------------------------ session

  /**
   * Opens a new session after a reset (or a timeout). Every handle issued
   * before is revoked at once, before the HELLO is sent (see the link's
   * 'session-opening'); the HELLO reply is validated again.
   */
  async reconnect(): Promise<HelloInfo> {
    // One at a time: a second call shares the session the first is opening.
    if (this.#reconnecting) return this.#reconnecting;
    const run = (async () => {
      const hello = validateHello(await this.#reopenAtEitherRate(), this.#chip);
      // A new session stopped every DMA channel and reset USART1 (PROTOCOL.md
      // §4): whatever ran before, in doubt or not, is confirmed off. Nothing
      // was allocated since the session began opening (refused meanwhile).
      this.#helloValue = hello;
      this.#boardIdle(this.handles.generation);
      // A board that reset (or fell back) runs at its boot rate again.
      await this.#negotiateRate();
      return this.#helloValue;
    })();
    this.#reconnecting = run;
    try {
      return await run;
    } finally {
      this.#reconnecting = undefined;
    }
  }

  /**
   * HELLO at the rate in use; when the board does not answer there and the
   * link had left the boot rate, at the boot rate: a board that reset, or
   * fell back after a lost frame, listens there (PROTOCOL.md §2).
   */
  async #reopenAtEitherRate(): Promise<HelloInfo> {
    try {
      return await this.#link.reopen();
    } catch (error) {
      // The link's rate, which a switch under way has already changed.
      const baud = this.#link.helloInfo.linkBaud;
      const bootBaud = this.#link.helloInfo.bootLinkBaud ?? baud;
      const transport = this.#link.transportInUse;
      if (!(error instanceof LinkTimeoutError) || baud === bootBaud || !transport.setBaudRate) throw error;
      await transport.setBaudRate(bootBaud);
      this.#link.adoptBaud(bootBaud);
      this.#helloValue = { ...this.#helloValue, linkBaud: bootBaud };
      return this.#link.reopen();
    }
  }

  async close(): Promise<void> {
    await this.#link.close();
  }

  // ------------------------------------------------------------ plumbing

  async #send<C extends SequencedRequest['command']>(
    body: Extract<SequencedRequest, { command: C }>,
    options: OperationOptions,
    extraTimeMs = 0,
    completes: (reply: ReplyTo<C>) => boolean = () => true,
    session?: number,
  ): Promise<ReplyTo<C>> {
    if (options.handle) this.handles.check(options.handle);
    const generation = this.handles.generation;
    const hook = options.onReply;
    const onReply = hook
      ? (reply: Reply) => {
          // The link matched the reply to this request by seq and command.
          if (completes(reply as ReplyTo<C>)) hook(reply);
        }
      : undefined;
    const reply = await this.#link.request<C>(body, {
      signal: options.signal,
      extraTimeMs,
      onReply,
      onSent: options.onSent,
      ...(session === undefined ? {} : { session }),
    });
    if (this.handles.generation !== generation) {
      // The reply came from before a reset that has been noticed since: the
      // state it describes is gone.
      throw this.handles.resetAfter(generation)!;
    }
    return reply;
  }

  #refusal(
    command: string,
    refusal: Parameters<typeof refusalToError>[1],
    ctx: Omit<RefusalContext, 'chip' | 'arena'>,
  ): BoardRefusedError {
    return refusalToError(command, refusal, { chip: this.#chip, arena: this.arena, ...ctx });
  }

  #newLedger(): ArenaLedger {
    return new ArenaLedger(
      this.#helloValue.arenaBase,
      this.#helloValue.arenaSize,
      () => this.handles.generation,
    );
  }

  /** The board confirmed every DMA channel off after `generation` began (see ArenaLedger.boardIdle). */
  #boardIdle(generation: number): void {
    const h = this.#helloValue;
    if (h.arenaBase !== this.#ledger.base || h.arenaSize !== this.#ledger.size) {
      // Another arena (other firmware): nothing of the old one is held; every handle to it was revoked.
      this.#ledger = this.#newLedger();
      return;
    }
    this.#ledger.boardIdle(generation);
  }

  #assertNotRecovering(what: string): void {
    if (this.#recovering) throw new BoardRecoveringError(what);
    if (this.#reconnecting) throw new BoardRecoveringError(what, 'board.reconnect()');
  }

  #checkArena(command: string, address: number, length: number): void {
    const { base, size } = this.arena;
    const ok = Number.isInteger(address) && Number.isInteger(length) && length > 0;
    if (!ok || address < base || address + length > base + size) {
      throw new OutOfArenaError(command, address, length, this.arena);
    }
  }

  #notify(n: BoardNotification): void {
    for (const l of [...this.#listeners]) {
      try {
        l(n);
      } catch {
        // A subscriber's bug must not keep the others from their events.
      }
    }
  }
}

/** Transports a board is open on. */
const transportsInUse = new WeakSet<Transport>();

function checkU32(value: unknown, what: string): void {
  if (!isWholeUpTo(value, 0xffff_ffff)) {
    throw new RangeError(`${what} is a whole number from 0 to 0xFFFFFFFF; got ${String(value)}`);
  }
}

/** A predicate that is true on its `n`-th call: "this reply completes the operation". */
function countdown(n: number): () => boolean {
  let left = n;
  return () => --left === 0;
}

/** Waits for every piece (so none is left unobserved), then throws the first failure in order. */
async function settleInOrder(pieces: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(pieces);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
