/**
 * First-fit allocator over the board's DMA arena. It hands out address
 * ranges only; it never touches memory. Free ranges are kept sorted and
 * coalesced, so fragmentation stays bounded by the live allocations.
 */

import { DriverError } from '../driver-error.ts';

export interface ArenaRange {
  readonly address: number;
  readonly length: number;
}

/** Bytes of the arena held, by why (see ArenaLedger). */
export interface ArenaHeld {
  readonly owned: number;
  readonly inTransfer: number;
  readonly inDoubt: number;
  readonly leaked: number;
}

export class ArenaExhaustedError extends DriverError {
  override name = 'ArenaExhaustedError';
  constructor(
    readonly requested: number,
    readonly largestFree: number,
    readonly held?: ArenaHeld,
  ) {
    super(
      `the DMA arena has no free block of ${requested} bytes (largest free block: ${largestFree} bytes)` +
        (held
          ? `: ${exhaustedAdvice(held)}`
          : '; free buffers you no longer need, or stop transfers that hold theirs'),
    );
  }
}

/** What the user can do about the memory that is held, in the order it helps. */
function exhaustedAdvice(held: ArenaHeld): string {
  const parts: string[] = [];
  if (held.owned > 0)
    parts.push(`${held.owned} bytes are owned by DmaBuffers (free() those you no longer need)`);
  if (held.inTransfer > 0) {
    parts.push(`${held.inTransfer} bytes are lent to running transfers (wait for them or stop them)`);
  }
  const stuck = held.inDoubt + held.leaked;
  if (stuck > 0) {
    parts.push(
      `${stuck} bytes are in doubt or leaked (a DMA may still run on them: ${held.inDoubt} in doubt, ` +
        `${held.leaked} leaked); only board.recover() returns them`,
    );
  }
  return parts.length > 0 ? parts.join('; ') : 'the arena is too fragmented';
}

export class ArenaAllocator {
  /** Free blocks sorted by address, never adjacent (always coalesced). */
  private free: { address: number; length: number }[];
  private readonly live = new Map<number, number>();

  constructor(
    readonly base: number,
    readonly size: number,
  ) {
    if (!Number.isInteger(base) || !Number.isInteger(size) || size <= 0) {
      throw new RangeError(`invalid arena: base ${base}, size ${size}`);
    }
    this.free = [{ address: base, length: size }];
  }

  /** Allocates `length` bytes aligned to `align` (a power of two). */
  allocate(length: number, align = 4): ArenaRange {
    if (!Number.isInteger(length) || length <= 0) {
      throw new RangeError(`a DMA buffer needs a whole, positive length; got ${length}`);
    }
    if (!Number.isInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new RangeError(`alignment must be a power of two; got ${align}`);
    }
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i]!;
      const start = alignUp(block.address, align);
      const padding = start - block.address;
      if (padding + length > block.length) continue;
      const tail = block.length - padding - length;
      const replacement: { address: number; length: number }[] = [];
      if (padding > 0) replacement.push({ address: block.address, length: padding });
      if (tail > 0) replacement.push({ address: start + length, length: tail });
      this.free.splice(i, 1, ...replacement);
      this.live.set(start, length);
      return { address: start, length };
    }
    throw new ArenaExhaustedError(length, this.largestFree());
  }

  /** Returns a range to the allocator. Freeing what was not allocated is a bug and throws. */
  release(range: ArenaRange): void {
    const length = this.live.get(range.address);
    if (length !== range.length) {
      throw new Error(`0x${range.address.toString(16)} (+${range.length}) is not a live arena allocation`);
    }
    this.live.delete(range.address);
    let i = 0;
    while (i < this.free.length && this.free[i]!.address < range.address) i++;
    this.free.splice(i, 0, { address: range.address, length });
    // Coalesce with the next block, then with the previous one.
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur.address + cur.length === next.address) {
      cur.length += next.length;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.address + prev.length === cur.address) {
      prev.length += cur.length;
      this.free.splice(i, 1);
    }
  }

  /**
   * Takes the free parts of `[address, address + length)` (clipped to the
   * arena) out of the free list, as live allocations of their own, and
   * returns them: memory a raw DMA start made busy.
   */
  claimRange(address: number, length: number): ArenaRange[] {
    const lo = Math.max(address, this.base);
    const hi = Math.min(address + length, this.base + this.size);
    const claimed: ArenaRange[] = [];
    const next: { address: number; length: number }[] = [];
    for (const block of this.free) {
      const end = block.address + block.length;
      const from = Math.max(block.address, lo);
      const to = Math.min(end, hi);
      if (to <= from) {
        next.push(block);
        continue;
      }
      if (from > block.address) next.push({ address: block.address, length: from - block.address });
      claimed.push({ address: from, length: to - from });
      this.live.set(from, to - from);
      if (end > to) next.push({ address: to, length: end - to });
    }
    this.free = next;
    return claimed;
  }

  /** The free blocks, by address. */
  freeRanges(): ArenaRange[] {
    return this.free.map((b) => ({ address: b.address, length: b.length }));
  }

  /** The live allocations, by address. */
  liveRanges(): ArenaRange[] {
    return [...this.live]
      .map(([address, length]) => ({ address, length }))
      .sort((a, b) => a.address - b.address);
  }

  largestFree(): number {
    return this.free.reduce((max, b) => Math.max(max, b.length), 0);
  }
}

function alignUp(value: number, align: number): number {
  return Math.ceil(value / align) * align;
}
