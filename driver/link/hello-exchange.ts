/**
 * Opening a session (PROTOCOL.md §4): HELLO at a sequence number the
 * board's current session did not open with, sent again at each deadline
 * (or on a NAK naming it) until it is answered or runs out of attempts.
 */

import { encodeMessage, type HelloInfo, type ReplyTo, Status } from '../protocol/index.ts';
import type { TimerId, Timers } from '../transport/timers.ts';
import { LinkProtocolError, LinkTimeoutError } from './errors.ts';
import type { LinkStats } from './link-types.ts';

/** What opening a session needs of the link. */
export interface HelloHost {
  readonly timers: Timers;
  readonly stats: LinkStats;
  readonly maxRetries: number;
  retransmitMs(): number;
  /** Writes a frame; resolves (never rejects) once the transport took it or failed. */
  send(frame: Uint8Array): Promise<void>;
  /** HELLO got no answer, or was refused: the link has no session. Called before the opener hears of it. */
  failed(error: Error): void;
  /** HELLO was answered: the session `info` is open from the reply's event `mark` on. Called before the opener hears of it. */
  opened(info: HelloInfo, helloSeq: number, mark: number): void;
}

interface HelloAttempt {
  seq: number;
  attempts: number;
  queued: boolean;
  timer: TimerId | undefined;
  frame: Uint8Array;
  resolve(hello: HelloInfo): void;
  reject(error: Error): void;
}

export class HelloExchange {
  private attempt: HelloAttempt | undefined;

  constructor(private readonly host: HelloHost) {}

  /**
   * Sends HELLO with `seq`. `beforeSend` runs once the exchange is under way
   * and before its first byte is written.
   */
  open(seq: number, beforeSend: () => void): Promise<HelloInfo> {
    return new Promise<HelloInfo>((resolve, reject) => {
      const frame = encodeMessage({ kind: 'request', command: 'hello', seq });
      this.attempt = { seq, attempts: 0, queued: false, timer: undefined, frame, resolve, reject };
      beforeSend();
      this.transmit();
    });
  }

  /** A NAK naming `seq`: resend HELLO now if it is ours. Returns whether it was. */
  nak(seq: number): boolean {
    const h = this.attempt;
    if (h?.seq !== seq) return false;
    this.host.timers.clearTimeout(h.timer);
    this.transmit();
    return true;
  }

  /** A HELLO reply. Returns false when it answers no HELLO of ours. */
  answered(reply: ReplyTo<'hello'>): boolean {
    const h = this.attempt;
    if (!h || reply.seq !== h.seq) return false;
    this.host.timers.clearTimeout(h.timer);
    this.attempt = undefined;
    const r = reply.result;
    if (r.status !== Status.OK) {
      const error = new LinkProtocolError(
        `the board refused HELLO with status ${r.status}: it may speak another protocol version`,
      );
      this.host.failed(error);
      h.reject(error);
      return true;
    }
    this.host.opened(r.hello, h.seq, reply.mark);
    h.resolve(r.hello);
    return true;
  }

  /** The link closed: the opener hears `error`. */
  cancel(error: Error): void {
    const h = this.attempt;
    if (!h) return;
    this.host.timers.clearTimeout(h.timer);
    this.attempt = undefined;
    h.reject(error);
  }

  private transmit(): void {
    const host = this.host;
    const h = this.attempt;
    if (!h) return;
    if (h.attempts > host.maxRetries) {
      this.attempt = undefined;
      host.stats.timeouts++;
      const unreadable =
        host.stats.corruptFrames + host.stats.invalidFrames > 0
          ? ` (${host.stats.corruptFrames} corrupt and ${host.stats.invalidFrames} unreadable frames came back)`
          : '';
      const error = new LinkTimeoutError(
        `the board did not answer HELLO after ${h.attempts} attempts${unreadable}: check that the bridge ` +
          'firmware runs, that this is its port and that the baud rate matches',
        'hello',
        h.attempts,
      );
      host.failed(error);
      h.reject(error);
      return;
    }
    host.timers.clearTimeout(h.timer);
    h.timer = undefined;
    // Each attempt's deadline runs from when its bytes left the host: a
    // transport still busy with earlier bytes (a backlog after a silent
    // board) must not use up the attempts.
    const arm = () => {
      if (this.attempt === h && h.timer === undefined) {
        h.timer = host.timers.setTimeout(() => this.transmit(), host.retransmitMs());
      }
    };
    if (h.queued) {
      arm();
      return;
    }
    if (h.attempts > 0) host.stats.retransmissions++;
    h.attempts++;
    h.queued = true;
    void host.send(h.frame).then(() => {
      h.queued = false;
      arm();
    });
  }
}
