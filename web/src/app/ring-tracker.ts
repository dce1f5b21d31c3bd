/**
 * Circular reception hands over whole halves; a console also wants what
 * arrived in the current half when the line goes quiet, and when it stops.
 * This keeps the count of bytes handed over so both can be mixed with
 * every byte shown once, in order.
 *
 * Where a circular reception stands in its ring, in bytes since it started:
 * what has been handed over, and which part of a half or a snapshot is new.
 */
export class RingTracker {
  private handed = 0;
  private halves = 0;
  private readonly halfSize: number;

  constructor(
    readonly size: number,
    readonly base: number,
  ) {
    this.halfSize = size / 2;
  }

  /** Bytes handed over so far. */
  get position(): number {
    return this.handed;
  }

  /** The part of the next full half not already handed over by a snapshot. */
  half(bytes: Uint8Array): Uint8Array {
    const start = this.halves * this.halfSize;
    this.halves++;
    const end = start + bytes.length;
    const from = Math.max(0, this.handed - start);
    this.handed = Math.max(this.handed, end);
    return bytes.subarray(Math.min(from, bytes.length));
  }

  /**
   * The bytes of the current half written since the last hand-over, given
   * the channel's CNDTR: the DMA has written `size − CNDTR` bytes of its
   * present lap. `undefined` when that position is past the half not yet
   * handed over whole: ask again once the iteration has handed it over.
   */
  async partial(
    cndtr: number,
    read: (address: number, length: number) => Promise<Uint8Array>,
  ): Promise<Uint8Array | undefined> {
    const inLap = (this.size - (cndtr & 0xffff)) % this.size;
    const halfStart = this.halves * this.halfSize;
    // The DMA is somewhere in the half after the last one handed over whole.
    const offsetInHalf = inLap - (halfStart % this.size);
    if (offsetInHalf === 0) return new Uint8Array(0);
    if (offsetInHalf < 0 || offsetInHalf >= this.halfSize) return undefined;
    const end = halfStart + offsetInHalf;
    if (end <= this.handed) return new Uint8Array(0);
    const from = Math.max(this.handed, halfStart);
    const bytes = await read(this.base + (from % this.size), end - from);
    // A half handed over meanwhile may have covered part of it.
    const fresh = bytes.subarray(Math.max(0, this.handed - from));
    this.handed = Math.max(this.handed, end);
    return fresh;
  }

  /**
   * Bytes the DMA has written since the start, from the halves it completed
   * (`halves`, as the board counted them) and where CNDTR says it stands now.
   */
  written(halves: number, cndtr: number): number {
    const known = halves * this.halfSize;
    const inLap = (this.size - (cndtr & 0xffff)) % this.size;
    return known + ((inLap - (known % this.size) + this.size) % this.size);
  }
}
