/**
 * The newest bytes of a stream, up to a fixed capacity, with the count of
 * everything that ever went in: a long session keeps constant memory and
 * the views drawn from it stay cheap.
 */
export class ByteHistory {
  private readonly ring: Uint8Array;
  private start = 0;
  private length = 0;
  private totalValue = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be at least 1 byte');
    this.ring = new Uint8Array(capacity);
  }

  /** Bytes pushed since the last clear, kept or not. */
  get total(): number {
    return this.totalValue;
  }

  /** Bytes kept (at most the capacity). */
  get size(): number {
    return this.length;
  }

  push(bytes: Uint8Array): void {
    this.totalValue += bytes.length;
    const cap = this.capacity;
    // Only the newest `capacity` bytes of a large push can survive it.
    const src = bytes.length > cap ? bytes.subarray(bytes.length - cap) : bytes;
    for (let i = 0; i < src.length; ) {
      const end = (this.start + this.length) % cap;
      const n = Math.min(src.length - i, cap - end);
      this.ring.set(src.subarray(i, i + n), end);
      i += n;
      this.length += n;
      if (this.length > cap) {
        this.start = (this.start + this.length - cap) % cap;
        this.length = cap;
      }
    }
  }

  /** The newest `count` bytes kept (all of them by default), oldest first. */
  tail(count = this.length): Uint8Array {
    const n = Math.min(count, this.length);
    const out = new Uint8Array(n);
    const from = (this.start + this.length - n) % this.capacity;
    const first = Math.min(n, this.capacity - from);
    out.set(this.ring.subarray(from, from + first));
    out.set(this.ring.subarray(0, n - first), first);
    return out;
  }

  clear(): void {
    this.start = 0;
    this.length = 0;
    this.totalValue = 0;
  }
}
