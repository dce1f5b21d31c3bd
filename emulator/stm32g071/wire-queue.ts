/**
 * The characters waiting on a wire, first in first out: taking the next
 * one costs the same however many wait (a host may queue thousands).
 */
export class WireQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The `i`-th waiting item (0: the next), or undefined. */
  at(i: number): T | undefined {
    return i < 0 ? undefined : this.items[this.head + i];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Replaces the first `n` waiting items with `replacement`. */
  replaceFront(n: number, replacement: readonly T[]): void {
    this.items.splice(this.head, n, ...replacement);
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}
