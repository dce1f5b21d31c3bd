/**
 * DmaBuffer: memory in the board's DMA arena, the only memory a transfer can
 * use. Its address never moves (the chapter's "immovable buffer"), it lives
 * until freed (the chapter's 'static bound: nothing frees it behind a running
 * transfer's back), and host data is copied in and out, never pointed at.
 *
 * Several DmaBuffer objects may view one allocation (`subarray`). While a
 * transfer owns any view, the whole allocation is locked: every other view
 * throws `BufferBusyError`, so the host cannot touch memory the DMA works on.
 */

import type { ArenaRange } from './arena-allocator.ts';
import { BufferBusyError, BufferFreedError } from './buffer-errors.ts';
import type { Handle } from './handles.ts';
import { OwnerToken } from './ownership.ts';

/**
 * Throws a TypeError unless `value` is a DmaBuffer. TypeScript already
 * refuses anything else; this is for JavaScript callers (and casts): a host
 * Uint8Array or a raw `{ address, length }` must never reach a DMA start,
 * since only arena memory the allocator handed out may be given to the DMA.
 */
export function assertDmaBuffer(value: unknown, by: string): asserts value is DmaBuffer {
  if (!(value instanceof DmaBuffer)) {
    const what =
      value instanceof Uint8Array ? 'a host Uint8Array' : value === null ? 'null' : `a ${typeof value}`;
    throw new TypeError(
      `${by} takes a DmaBuffer, not ${what}: allocate one with board.alloc(length) and copy data in with buffer.write()`,
    );
  }
}

/** What a buffer needs from the board: arena memory access, its allocator, and handle checks. */
export interface BufferHost {
  readMemory(address: number, length: number, options: { handle: Handle }): Promise<Uint8Array>;
  writeMemory(address: number, data: Uint8Array, options: { handle: Handle }): Promise<void>;
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

export class DmaBuffer {
  /** @internal the ownership of this view (moved into transfers). */
  readonly token = new OwnerToken(
    'this DmaBuffer',
    'use the buffer that the Transfer handed back from wait() or stop()',
  );

  /** @internal use `board.alloc()` or `subarray()`. */
  constructor(
    /** @internal */ readonly allocation: Allocation,
    private readonly offset: number,
    readonly length: number,
    /** True for the buffer board.alloc() returned (and the owners handed back for it), false for views. */
    readonly isAllocation = false,
  ) {}

  /** The buffer's address on the board (stable for its whole life). */
  get address(): number {
    return this.allocation.range.address + this.offset;
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
  subarray(start: number, end: number = this.length): DmaBuffer {
    this.assertOwned();
    if (
      !Number.isInteger(start) ||
      !Number.isInteger(end) ||
      start < 0 ||
      end > this.length ||
      start >= end
    ) {
      throw new RangeError(
        `subarray(${start}, ${end}) is not a non-empty range of a ${this.length}-byte buffer`,
      );
    }
    return new DmaBuffer(this.allocation, this.offset + start, end - start);
  }

  /** Copies `bytes` into the buffer at `offset` (on the board). Resolves once the board has them. */
  async write(bytes: Uint8Array, offset = 0): Promise<void> {
    this.assertOwned();
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > this.length) {
      throw new RangeError(
        `writing ${bytes.length} bytes at offset ${offset} overflows a ${this.length}-byte buffer`,
      );
    }
    if (bytes.length === 0) return;
    await this.allocation.host.writeMemory(this.address + offset, bytes, { handle: this.allocation.handle });
  }

  /** Copies the buffer's bytes (or `length` bytes from `offset`) from the board. */
  async read(offset = 0, length: number = this.length - offset): Promise<Uint8Array> {
    this.assertOwned();
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) {
      throw new RangeError(`read(${offset}, ${length}) is not a range of a ${this.length}-byte buffer`);
    }
    if (offset + length > this.length) {
      throw new RangeError(
        `reading ${length} bytes at offset ${offset} overflows a ${this.length}-byte buffer`,
      );
    }
    if (length === 0) return new Uint8Array(0);
    return this.allocation.host.readMemory(this.address + offset, length, { handle: this.allocation.handle });
  }

  /**
   * Returns the memory to the board's allocator. Every view of it becomes
   * unusable. Refused while a transfer owns it: a region goes back only once
   * its transfer is confirmed finished or stopped.
   */
  free(): void {
    this.assertOwned();
    if (!this.isAllocation) {
      throw new RangeError(
        'free() the DmaBuffer that board.alloc() returned (or the one handed back for it), not a view',
      );
    }
    const a = this.allocation;
    a.voidedBecause = 'it was freed by free()';
    a.host.release(a.range);
  }

  [Symbol.dispose](): void {
    if (this.isAllocation && this.usable) this.free();
  }

  /** @internal throws unless this view may be used now. */
  assertOwned(): void {
    this.token.check();
    this.allocation.assertUsable();
  }

  /** @internal moves this view into a transfer started by `by` and locks the allocation. */
  moveInto(by: string): void {
    this.assertOwned();
    this.token.move(by);
    this.allocation.lockedBy = by;
  }

  /** @internal undoes moveInto() for a transfer the board refused before it started. */
  restoreAfterRefusal(): void {
    this.token.restore();
    this.allocation.lockedBy = undefined;
  }

  /** @internal unlocks the allocation and returns a fresh owner of the same bytes. */
  handBack(): DmaBuffer {
    this.allocation.lockedBy = undefined;
    return new DmaBuffer(this.allocation, this.offset, this.length, this.isAllocation);
  }
}
