/**
 * The characters waiting on a USART's RX wire, first in first out, kept in
 * typed arrays (a ring): a host may queue thousands, and a character costs
 * no object, whichever way it is taken.
 */

/** A character on the wire, as the sampling of a waveform makes them (usart.ts). */
export interface WireCharacter {
  /** -1: the line is busy (a sender's waveform) but the receiver makes no character of it. */
  byte: number;
  /** Reception errors it comes with, at their USART_ISR positions: PE, FE, NE. */
  errors: number;
  /** The sender's bit time, ns; NaN: it sends at the receiver's rate. */
  senderBitNs: number;
  /** Time on the wire when known in advance, ns; NaN: not known yet. */
  durationNs: number;
}

export class WireQueue {
  // The ring, read directly by the bulk engine's hot loops (a method returning a
  // number boxes it where it is not inlined): character i (0: the next) is at
  // (head + i) & mask. Growing replaces the arrays.
  bytes = new Int16Array(64);
  errorBits = new Uint8Array(64);
  senders = new Float64Array(64);
  durations = new Float64Array(64);
  head = 0;
  private count = 0;

  get mask(): number {
    return this.bytes.length - 1;
  }

  get length(): number {
    return this.count;
  }

  push(byte: number, errors: number, senderBitNs: number, durationNs: number): void {
    if (this.count === this.bytes.length) this.grow();
    const i = (this.head + this.count) & (this.bytes.length - 1);
    this.bytes[i] = byte;
    this.errorBits[i] = errors;
    this.senders[i] = senderBitNs;
    this.durations[i] = durationNs;
    this.count++;
  }

  /** Fields of the `i`-th waiting character (0: the next); `i` below `length`. */
  byteAt(i: number): number {
    return this.bytes[(this.head + i) & (this.bytes.length - 1)]!;
  }

  errorsAt(i: number): number {
    return this.errorBits[(this.head + i) & (this.bytes.length - 1)]!;
  }

  senderAt(i: number): number {
    return this.senders[(this.head + i) & (this.bytes.length - 1)]!;
  }

  durationAt(i: number): number {
    return this.durations[(this.head + i) & (this.bytes.length - 1)]!;
  }

  setDuration(i: number, durationNs: number): void {
    this.durations[(this.head + i) & (this.bytes.length - 1)] = durationNs;
  }

  /** Drops the next character (read its fields first). */
  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) & (this.bytes.length - 1);
    this.count--;
  }

  /** Replaces the first `n` waiting characters with `replacement`. */
  replaceFront(n: number, replacement: readonly WireCharacter[]): void {
    const rest: WireCharacter[] = [];
    for (let i = n; i < this.count; i++)
      rest.push({
        byte: this.byteAt(i),
        errors: this.errorsAt(i),
        senderBitNs: this.senderAt(i),
        durationNs: this.durationAt(i),
      });
    this.clear();
    for (const c of [...replacement, ...rest]) this.push(c.byte, c.errors, c.senderBitNs, c.durationNs);
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const size = 2 * this.bytes.length;
    const bytes = new Int16Array(size);
    const errors = new Uint8Array(size);
    const senders = new Float64Array(size);
    const durations = new Float64Array(size);
    for (let i = 0; i < this.count; i++) {
      bytes[i] = this.byteAt(i);
      errors[i] = this.errorsAt(i);
      senders[i] = this.senderAt(i);
      durations[i] = this.durationAt(i);
    }
    this.bytes = bytes;
    this.errorBits = errors;
    this.senders = senders;
    this.durations = durations;
    this.head = 0;
  }
}
