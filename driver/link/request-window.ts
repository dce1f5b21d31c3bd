/**
 * The requests the link holds: those waiting to go out, in order, and those
 * in flight, with the sequence numbers they carry and the board's receive
 * buffer they use up (PROTOCOL.md §2, §4).
 */

import type { Pending } from './pending.ts';

export const SEQ_MOD = 0x1_0000;

/** `a` is at or after `b` in mod-2^16 order. */
export function seqAfter(a: number, b: number): boolean {
  return (a - b + SEQ_MOD) % SEQ_MOD < 0x8000;
}

/** Bytes a frame takes on the wire, with the 0x00 that may go before it. */
export function wireBytes(frame: Uint8Array): number {
  return frame.length + 1;
}

export class RequestWindow {
  /** Made and not yet sent, in order. */
  readonly queue: Pending[] = [];
  /** Sent and not yet answered, in seq order. */
  readonly inflight: Pending[] = [];
  /** The seq the next request sent takes. */
  nextSeq: number;
  /** Requests the board lets the host have in flight (HELLO's window, capped by the options). */
  size = 1;
  /** HELLO's rxBuffer: bytes of request frames the board can hold unanswered. */
  credit: number | undefined;
  /** Wire bytes of the requests in flight (their latest transmission): at most `credit`. */
  private bytes = 0;
  private readonly idleWaiters = new Set<() => void>();

  constructor(firstSeq: number) {
    this.nextSeq = firstSeq;
  }

  get isIdle(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0;
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.isIdle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  wakeIdle(): void {
    for (const w of [...this.idleWaiters]) w();
    this.idleWaiters.clear();
  }

  holds(entry: Pending): boolean {
    return this.inflight.includes(entry);
  }

  /** The request in flight that carries `seq`. */
  bySeq(seq: number): Pending | undefined {
    return this.inflight.find((e) => e.seq === seq);
  }

  /**
   * The window slides over sequence numbers, not over a count: replies can
   * complete out of order (a lost one is retransmitted while later ones
   * arrive), and the board caches only the last `window` replies, so a new
   * seq must stay within `window` of the oldest unanswered one, or that
   * one's reply could leave the cache before its retransmission arrives.
   */
  hasRoom(): boolean {
    const oldest = this.inflight[0];
    return oldest === undefined || (this.nextSeq - oldest.seq + SEQ_MOD) % SEQ_MOD < this.size;
  }

  /**
   * The board's receive buffer (HELLO's rxBuffer) holds every request the
   * host has sent and not seen answered: one more frame goes out only if it
   * fits beside them (or nothing is in flight), so no byte is ever lost to a
   * full buffer, whatever the line rate (PROTOCOL.md §2).
   */
  creditAllows(frameLength: number): boolean {
    const credit = this.credit;
    return credit === undefined || this.inflight.length === 0 || this.bytes + frameLength + 1 <= credit;
  }

  /** The head of the queue goes in flight with the next seq and `frame`. */
  admit(entry: Pending, frame: Uint8Array): void {
    entry.seq = this.nextSeq;
    entry.frame = frame;
    this.nextSeq = (this.nextSeq + 1) % SEQ_MOD;
    this.inflight.push(entry);
    this.bytes += wireBytes(frame);
  }

  /** An answered (or failed) request leaves the window. */
  drop(entry: Pending): void {
    const i = this.inflight.indexOf(entry);
    if (i < 0) return;
    this.inflight.splice(i, 1);
    this.bytes -= wireBytes(entry.frame!);
  }

  /** Empties the window: everything in flight, then everything queued. */
  takeAll(): { inflight: Pending[]; queued: Pending[] } {
    const inflight = this.inflight.splice(0);
    const queued = this.queue.splice(0);
    this.bytes = 0;
    return { inflight, queued };
  }
}
