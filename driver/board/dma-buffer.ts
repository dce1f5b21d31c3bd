/**
 * DmaBuffer: memory in the board's DMA arena, the only memory a transfer can
 * use. Its address never moves (the chapter's "immovable buffer"), it lives
 * until freed (the chapter's 'static bound: nothing frees it behind a running
 * transfer's back), and host data is copied in and out, never pointed at.
 *
 * Several DmaBuffer objects may view one allocation (`subarray`). While a
 * transfer owns any view, the whole allocation is locked: every other view
 * throws `BufferBusyError`, so the host cannot touch memory the DMA works on.
 *
 * A DmaBuffer cannot be forged: its state lives in private fields (an object
 * made with `Object.create(buffer, ...)` has none and fails every check),
 * only the board that allocated it can make one, and a transfer checks that
 * the buffer belongs to the board its serial port is on.
 */

import type { ArenaRange } from './arena-allocator.ts';
import { BufferBusyError, BufferFreedError, ForeignBufferError } from './buffer-errors.ts';
import type { Handle } from './handles.ts';
import { OwnerToken } from './ownership.ts';

/**
 * Throws a TypeError unless `value` is a genuine DmaBuffer. TypeScript already
 * refuses anything else; this is for JavaScript callers (and casts): a host
 * Uint8Array, a raw `{ address, length }` or an object faking a buffer must
 * never reach a DMA start, since only arena memory the allocator handed out
 * may be given to the DMA.
 */
export function assertDmaBuffer(value: unknown, by: string): asserts value is DmaBuffer {
  if (!DmaBuffer.isDmaBuffer(value)) {
    const what =
      value instanceof Uint8Array
        ? 'a host Uint8Array'
        : value === null
          ? 'null'
          : value instanceof DmaBuffer
            ? 'an object made to look like one'
            : `a ${typeof value}`;
    throw new TypeError(
      `${by} takes a DmaBuffer, not ${what}: allocate one with board.alloc(length) and copy data in with buffer.write()`,
    );
  }
}

/** What a buffer needs from the board: arena memory access, its allocator, and handle checks. */
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
  release(range: ArenaRange): void;
}

/** One arena allocation, shared by every view of it. */
export class Allocation {
  /** The transfer call that owns the memory now, if any. */
  lockedBy: string | undefined;
  /** Why the memory is gone, once it is. */
  voidedBecause: string | undefined;

  constructor(
    readonly host: BufferHost,
    readonly range: ArenaRange,
    readonly handle: Handle,
  ) {}

  assertUsable(): void {
    this.host.checkHandle(this.handle);
    if (this.voidedBecause !== undefined) throw new BufferFreedError(this.voidedBecause);
    if (this.lockedBy !== undefined) throw new BufferBusyError(this.lockedBy);
  }
}

/** Only this module (through `createDmaBuffer`) may construct a DmaBuffer. */
const CONSTRUCT = Symbol('DmaBuffer construction');

/**
 * @internal the board's way to make the buffer for a new allocation; not
 * exported from the package.
 */
export function createDmaBuffer(host: BufferHost, range: ArenaRange, handle: Handle): DmaBuffer {
  return new DmaBuffer(CONSTRUCT, new Allocation(host, range, handle), 0, range.length, true);
}

export class DmaBuffer {
  readonly #allocation: Allocation;
  readonly #offset: number;
  readonly #length: number;
  readonly #isAllocation: boolean;
  readonly #token = new OwnerToken(
    'this DmaBuffer',
    'use the buffer that the Transfer handed back from wait() or stop()',
  );

  /** @internal use `board.alloc()` or `subarray()`. */
  constructor(
    key: typeof CONSTRUCT,
    allocation: Allocation,
    offset: number,
    length: number,
    isAllocation: boolean,
  ) {
    if (key !== CONSTRUCT) throw new TypeError('a DmaBuffer comes from board.alloc() or buffer.subarray()');
    this.#allocation = allocation;
    this.#offset = offset;
    this.#length = length;
    this.#isAllocation = isAllocation;
  }

  /** True for a genuine DmaBuffer (not a look-alike, a prototype copy or a plain object). */
  static isDmaBuffer(value: unknown): value is DmaBuffer {
    return typeof value === 'object' && value !== null && #allocation in value;
  }

  /** Bytes in this buffer (or view). */
  get length(): number {
    return this.#length;
  }

  /** The buffer's address on the board (stable for its whole life). */
  get address(): number {
    return this.#allocation.range.address + this.#offset;
  }

  /** True for the buffer board.alloc() returned (and the owners handed back for it), false for views. */
  get isAllocation(): boolean {
    return this.#isAllocation;
  }

  /** True while this object may be used (not moved, freed, revoked or locked by a transfer). */
  get usable(): boolean {
    try {
      this.assertOwned();
      return true;
    } catch {
      return false;
    }
  }

  /** A view of bytes [start, end) of this buffer, sharing its memory. */
  subarray(start: number, end: number = this.#length): DmaBuffer {
    this.assertOwned();
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end > this.#length ||
      start >= end
    ) {
      throw new RangeError(
        `subarray(${start}, ${end}) is not a non-empty range of a ${this.#length}-byte buffer`,
      );
    }
    return new DmaBuffer(CONSTRUCT, this.#allocation, this.#offset + start, end - start, false);
  }

  /**
   * Copies `bytes` into the buffer at `offset` (on the board). Resolves once
   * the board has them. `signal` cancels the pieces not yet sent (those sent
   * still land).
   */
  async write(bytes: Uint8Array, offset = 0, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.assertOwned();
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(
        `buffer.write() takes a Uint8Array, not ${bytes === null ? 'null' : typeof bytes}: ` +
          'encode text first, e.g. new TextEncoder().encode(text)',
      );
    }
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > this.#length) {
      throw new RangeError(
        `writing ${bytes.length} bytes at offset ${offset} overflows a ${this.#length}-byte buffer`,
      );
    }
    if (bytes.length === 0) return;
    const a = this.#allocation;
    await a.host.writeMemory(this.address + offset, bytes, {
      handle: a.handle,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Copies the buffer's bytes (or `length` bytes from `offset`) from the board. */
  async read(offset = 0, length: number = this.#length - offset): Promise<Uint8Array> {
    this.assertOwned();
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`read(${offset}, ${length}) is not a range of a ${this.#length}-byte buffer`);
    }
    if (offset + length > this.#length) {
      throw new RangeError(
        `reading ${length} bytes at offset ${offset} overflows a ${this.#length}-byte buffer`,
      );
    }
    if (length === 0) return new Uint8Array(0);
    const a = this.#allocation;
    return a.host.readMemory(this.address + offset, length, { handle: a.handle });
  }

  /**
   * Returns the memory to the board's allocator. Every view of it becomes
   * unusable. Refused while a transfer owns it: a region goes back only once
   * its transfer is confirmed finished or stopped.
   */
  free(): void {
    this.assertOwned();
    if (!this.#isAllocation) {
      throw new RangeError(
        'free() the DmaBuffer that board.alloc() returned (or the one handed back for it), not a view',
      );
    }
    const a = this.#allocation;
    a.voidedBecause = 'it was freed by free()';
    a.host.release(a.range);
  }

  [Symbol.dispose](): void {
    if (this.#isAllocation && this.usable) this.free();
  }

  /** @internal throws unless this view may be used now. */
  assertOwned(): void {
    this.#token.check();
    this.#allocation.assertUsable();
  }

  /** @internal throws ForeignBufferError unless the buffer was allocated on the board behind `host`. */
  assertBelongsTo(host: BufferHost): void {
    if (this.#allocation.host !== host) throw new ForeignBufferError(this.#allocation.host.name, host.name);
  }

  /** @internal the allocation this view is of (every view of it shares it). */
  get allocation(): Allocation {
    return this.#allocation;
  }

  /** @internal moves this view into a transfer started by `by` and locks the allocation. */
  moveInto(by: string): void {
    this.assertOwned();
    this.#token.move(by);
    this.#allocation.lockedBy = by;
  }

  /** @internal undoes moveInto() for a transfer the board refused before it started. */
  restoreAfterRefusal(): void {
    this.#token.restore();
    this.#allocation.lockedBy = undefined;
  }

  /** @internal unlocks the allocation and returns a fresh owner of the same bytes. */
  handBack(): DmaBuffer {
    this.#allocation.lockedBy = undefined;
    return new DmaBuffer(CONSTRUCT, this.#allocation, this.#offset, this.#length, this.#isAllocation);
  }
}
