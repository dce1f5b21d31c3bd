/**
 * DmaBuffer: memory in the board's DMA arena, the only memory a transfer can
 * use. Its address never moves (the chapter's "immovable buffer"), it lives
 * until freed (the chapter's 'static bound: nothing frees it behind a running
 * transfer's back), and host data is copied in and out, never pointed at.
 *
 * Several DmaBuffer objects may view one allocation (`subarray`). While a
 * transfer holds any view, the whole allocation is lent (see ArenaLedger):
 * every other view throws `BufferBusyError`, so the host cannot touch memory
 * the DMA works on.
 *
 * A DmaBuffer cannot be forged or bent: its state lives in private fields
 * (an object made with `Object.create(buffer, ...)` has none and fails every
 * check), only the board that allocated it can make one, instances are
 * frozen, and what a DMA is aimed at is read from those private fields and
 * the board's ledger (`lendBuffer` below), never from a property or method
 * a caller could replace.
 */

import { BufferBusyError, BufferFreedError, ForeignBufferError, MovedError } from './buffer-errors.ts';
import type { Handle } from './handles.ts';
import { copyHostBytes, isUint8Array } from './host-bytes.ts';
import type { ArenaLedger, Loan, Region } from './ledger.ts';

const BUFFER_HINT = 'use the buffer that the Transfer handed back from wait() or stop()';

/**
 * Throws a TypeError unless `value` is a genuine DmaBuffer. TypeScript already
 * refuses anything else; this is for JavaScript callers (and casts): a host
 * Uint8Array, a raw `{ address, length }` or an object faking a buffer must
 * never reach a DMA start, since only arena memory the ledger lent may be
 * given to the DMA.
 */
export function assertDmaBuffer(value: unknown, by: string): asserts value is DmaBuffer {
  if (!DmaBuffer.isDmaBuffer(value)) {
    throw new TypeError(
      `${by} takes a DmaBuffer, not ${describeValue(value)}: allocate one with board.alloc(length) and copy data in with buffer.write()`,
    );
  }
}

/** Names what a caller passed instead of a DmaBuffer. */
function describeValue(value: unknown): string {
  if (isUint8Array(value)) return 'a host Uint8Array';
  if (value === null || value === undefined) return String(value);
  if (value instanceof DmaBuffer) return 'an object made to look like one';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? 'a plain object' : 'an object of another class';
}

/** What a buffer needs from the board: arena memory access and handle checks. */
export interface BufferHost {
  /** Names the board in messages ("the board on /dev/ttyACM0"). */
  readonly name: string;
  readMemory(address: number, length: number, options: { handle: Handle }): Promise<Uint8Array>;
  writeMemory(
    address: number,
    data: Uint8Array,
    options: { handle: Handle; signal?: AbortSignal },
  ): Promise<void>;
  /** Throws once a board reset or board.recover() voided the handle. */
  checkHandle(handle: Handle): void;
}

/** A buffer's private state, shared with this module's functions only. */
interface View {
  readonly host: BufferHost;
  readonly region: Region;
  readonly handle: Handle;
  readonly offset: number;
  readonly length: number;
  readonly isAllocation: boolean;
}

/** Only this module may construct a DmaBuffer. */
const CONSTRUCT = Symbol('DmaBuffer construction');

/** Reads a genuine buffer's private state (set in the class's static block). */
let viewOf: (buffer: DmaBuffer) => View;
/** Marks a buffer moved by `by`, or (undefined) usable again. */
let setMoved: (buffer: DmaBuffer, by: string | undefined) => void;
let movedBy: (buffer: DmaBuffer) => string | undefined;

/** @internal the board's way to make the buffer for a new allocation; not exported from the package. */
export function createDmaBuffer(host: BufferHost, region: Region, handle: Handle): DmaBuffer {
  return new DmaBuffer(CONSTRUCT, {
    host,
    region,
    handle,
    offset: 0,
    length: region.length,
    isAllocation: true,
  });
}

/** Throws unless the view may be used now: not moved, not revoked, its region owned. */
function assertUsable(buffer: DmaBuffer): View {
  const moved = movedBy(buffer);
  if (moved !== undefined) throw new MovedError('this DmaBuffer', moved, BUFFER_HINT);
  const view = viewOf(buffer);
  view.host.checkHandle(view.handle);
  const region = view.region;
  const ledger = region.ledger;
  if (ledger.isIn(region, 'owned')) return view;
  if (ledger.isIn(region, 'lent') || ledger.isIn(region, 'in-doubt') || ledger.isIn(region, 'leaked')) {
    // Lent, in doubt or leaked: the ledger always names the holder.
    throw new BufferBusyError(region.holder!);
  }
  throw new BufferFreedError('its memory was freed (free()), or never came from board.alloc()');
}

export class DmaBuffer {
  readonly #view: View;
  #movedBy: string | undefined;

  static {
    viewOf = (buffer) => buffer.#view;
    setMoved = (buffer, by) => {
      buffer.#movedBy = by;
    };
    movedBy = (buffer) => buffer.#movedBy;
  }

  /** @internal use `board.alloc()` or `subarray()`. */
  constructor(key: typeof CONSTRUCT, view: View) {
    if (key !== CONSTRUCT) throw new TypeError('a DmaBuffer comes from board.alloc() or buffer.subarray()');
    this.#view = view;
    // A second line: nothing safety-relevant reads these properties, and they cannot be changed either.
    Object.freeze(this);
  }

  /** True for a genuine DmaBuffer (not a look-alike, a prototype copy or a plain object). */
  static isDmaBuffer(value: unknown): value is DmaBuffer {
    return typeof value === 'object' && value !== null && #view in value;
  }

  /** Bytes in this buffer (or view). */
  get length(): number {
    return this.#view.length;
  }

  /** The buffer's address on the board (stable for its whole life). */
  get address(): number {
    return this.#view.region.address + this.#view.offset;
  }

  /** True for the buffer board.alloc() returned (and the owners handed back for it), false for views. */
  get isAllocation(): boolean {
    return this.#view.isAllocation;
  }

  /** True while this object may be used (not moved, freed, revoked or lent to a transfer). */
  get usable(): boolean {
    try {
      assertUsable(this);
      return true;
    } catch {
      return false;
    }
  }

  /** A view of bytes [start, end) of this buffer, sharing its memory. */
  subarray(start: number, end: number = this.#view.length): DmaBuffer {
    const v = assertUsable(this);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > v.length || start >= end) {
      throw new RangeError(
        `subarray(${start}, ${end}) is not a non-empty range of a ${v.length}-byte buffer`,
      );
    }
    return new DmaBuffer(CONSTRUCT, {
      ...v,
      offset: v.offset + start,
      length: end - start,
      isAllocation: false,
    });
  }

  /**
   * Copies `bytes` into the buffer at `offset` (on the board). Resolves once
   * the board has them. `signal` cancels the pieces not yet sent (those sent
   * still land).
   */
  async write(data: Uint8Array, offset = 0, options: { signal?: AbortSignal } = {}): Promise<void> {
    const v = assertUsable(this);
    // Checked and sent from a private copy: the caller's array is read once, through intrinsics.
    const bytes = copyHostBytes(data, 'buffer.write()');
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > v.length) {
      throw new RangeError(
        `writing ${bytes.length} bytes at offset ${offset} overflows a ${v.length}-byte buffer`,
      );
    }
    if (bytes.length === 0) return;
    await v.host.writeMemory(v.region.address + v.offset + offset, bytes, {
      handle: v.handle,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Copies the buffer's bytes (or `length` bytes from `offset`) from the board. */
  async read(offset = 0, length?: number): Promise<Uint8Array> {
    const v = assertUsable(this);
    const n = length ?? v.length - offset;
    if (!Number.isInteger(offset) || !Number.isInteger(n) || offset < 0 || n < 0) {
      throw new RangeError(`read(${offset}, ${n}) is not a range of a ${v.length}-byte buffer`);
    }
    if (offset + n > v.length) {
      throw new RangeError(`reading ${n} bytes at offset ${offset} overflows a ${v.length}-byte buffer`);
    }
    if (n === 0) return new Uint8Array(0);
    return v.host.readMemory(v.region.address + v.offset + offset, n, { handle: v.handle });
  }

  /**
   * Returns the memory to the board's ledger. Every view of it becomes
   * unusable. Refused while a transfer holds it: a region goes back only once
   * its transfer is confirmed finished or stopped.
   */
  free(): void {
    const v = assertUsable(this);
    if (!v.isAllocation) {
      throw new RangeError(
        'free() the DmaBuffer that board.alloc() returned (or the one handed back for it), not a view',
      );
    }
    v.region.ledger.release(v.region);
  }

  [Symbol.dispose](): void {
    if (this.#view.isAllocation && this.usable) this.free();
  }
}

/** Where a buffer may be lent: the ledger of the board a transfer runs on, and its name. */
export interface LendTarget {
  readonly ledger: ArenaLedger;
  readonly name: string;
}

/**
 * @internal a buffer lent to a DMA operation. Held in private fields of the
 * operation only; every address the operation's DMA uses comes from `aim`.
 */
export class BufferLoan {
  readonly #loan: Loan;
  readonly #view: View;
  readonly #buffer: DmaBuffer;

  /** @internal through lendBuffer() only. */
  constructor(key: typeof CONSTRUCT, loan: Loan, view: View, buffer: DmaBuffer) {
    if (key !== CONSTRUCT) throw new TypeError('a BufferLoan comes from lendBuffer()');
    this.#loan = loan;
    this.#view = view;
    this.#buffer = buffer;
    Object.freeze(this);
  }

  /** Bytes lent. */
  get length(): number {
    return this.#loan.length;
  }

  /**
   * The address and length for DMA1 channel `channel` of the board whose
   * ledger is `ledger` (all of the loan, or a part), checked by that ledger:
   * memory lent by another board's ledger is never aimed at.
   */
  aim(
    ledger: ArenaLedger,
    channel: number,
    offset = 0,
    length = this.#loan.length,
  ): { address: number; length: number } {
    if (this.#view.region.ledger !== ledger) throw new ForeignBufferError(this.#view.host.name, 'this board');
    return ledger.aim(this.#loan, channel, offset, length);
  }

  /**
   * Copies `bytes` into the lent memory at `offset`: for an operation that
   * knows its DMA is done with that part (the board refuses a write where a
   * DMA is running, BusyError).
   */
  async write(bytes: Uint8Array, offset = 0, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { address } = this.#view.region.ledger.locate(this.#loan, offset, bytes.length);
    await this.#view.host.writeMemory(address, bytes, {
      handle: this.#view.handle,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** The board refused the start (or it never left the host): the buffer is usable again. */
  restore(): void {
    if (this.#view.region.ledger.giveBack(this.#loan)) setMoved(this.#buffer, undefined);
  }

  /** The board confirmed the DMA done or stopped: a fresh owner of the same bytes. */
  handBack(): DmaBuffer {
    this.#view.region.ledger.giveBack(this.#loan);
    return new DmaBuffer(CONSTRUCT, this.#view);
  }

  /** The board confirmed the DMA done or stopped, and the memory is no longer needed. */
  giveBackAndFree(): void {
    const ledger = this.#view.region.ledger;
    if (ledger.giveBack(this.#loan) && this.#view.isAllocation) ledger.release(this.#view.region);
  }

  /** A DMA may still run on the memory and nothing will say when it stops. */
  doubt(why: string): void {
    this.#view.region.ledger.doubt(this.#loan, why);
  }

  /** The operation holding it was dropped before it finished. */
  leak(): void {
    this.#view.region.ledger.leak(this.#loan);
  }
}

/**
 * @internal checks `value` (a genuine buffer, usable, of the board behind
 * `target`), runs `check` on its address and length (read from its private
 * state), then moves it into the operation `by` and lends its memory. Every
 * check runs before anything moves.
 */
export function lendBuffer(
  value: unknown,
  by: string,
  target: LendTarget,
  check: (address: number, length: number) => void = () => {},
): BufferLoan {
  assertDmaBuffer(value, by);
  const view = assertUsable(value);
  if (view.region.ledger !== target.ledger) throw new ForeignBufferError(view.host.name, target.name);
  check(view.region.address + view.offset, view.length);
  const loan = view.region.ledger.lend(view.region, view.offset, view.length, by);
  setMoved(value, by);
  return new BufferLoan(CONSTRUCT, loan, view, value);
}
