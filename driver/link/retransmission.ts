/**
 * Retransmission (PROTOCOL.md §4): each request in flight has a deadline;
 * on expiry, on SEQ_GAP (go back to the board's expected seq), on a NAK
 * naming it, or when a later request was answered first, its exact frame is
 * sent again. The board executes a seq once and answers repeats from its
 * reply cache, which is what makes this safe: the link only has to never
 * give up on a seq silently.
 */

import { type HelloInfo, Limits } from '../protocol/index.ts';
import type { Timers } from '../transport/timers.ts';
import { LinkTimeoutError } from './errors.ts';
import type { MarkFloor } from './event-tracker.ts';
import type { LinkStats } from './link-types.ts';
import type { Pending } from './pending.ts';
import { type RequestWindow, seqAfter } from './request-window.ts';

/** What retransmission needs of the link. */
export interface RetransmissionHost {
  readonly timers: Timers;
  readonly stats: LinkStats;
  readonly window: RequestWindow;
  readonly maxRetries: number;
  /** The deadline of one attempt, before a request's own extra time. */
  retransmitMs(): number;
  /** The session requests may be sent in now. */
  session(): number;
  /** Where the event sequence stands (for a request's first transmission). */
  markFloor(): MarkFloor | undefined;
  /** Writes a frame; resolves (never rejects) once the transport took it or failed. */
  send(frame: Uint8Array): Promise<void>;
  /** A request ran out of attempts: the session cannot continue. */
  giveUp(error: LinkTimeoutError): void;
}

export class Retransmission {
  private stamps = 0;

  constructor(private readonly host: RetransmissionHost) {}

  /** Puts `entry` on the wire (again), and keeps its deadline running. */
  transmit(entry: Pending): void {
    const host = this.host;
    // Only in the session it was made in (a session's end fails everything
    // pending in it; this keeps a stray timer or completion from ever
    // sending a frame of an old session).
    if (entry.session !== host.session()) return;
    // Early resends (gap, NAK, fast retransmission) keep the running
    // deadline: a board that answered every frame with a NAK would
    // otherwise push the deadline back forever and the request would hang.
    // The deadline runs from when the bytes left the host, so a transport
    // still busy with earlier bytes does not use up the attempts.
    const arm = () => {
      if (entry.timer === undefined && host.window.holds(entry)) {
        entry.timer = host.timers.setTimeout(
          () => this.onDeadline(entry),
          host.retransmitMs() + entry.extraTimeMs,
        );
      }
    };
    if (entry.queued) {
      // The last transmission has not even left: another copy would only pile up behind it.
      arm();
      return;
    }
    if (entry.attempts > 0) host.stats.retransmissions++;
    else entry.markFloor = host.markFloor();
    if (entry.attempts === 0 && entry.onSent) {
      try {
        entry.onSent();
      } catch {
        host.stats.listenerErrors++;
      }
    }
    entry.attempts++;
    entry.stamp = ++this.stamps;
    entry.queued = true;
    void host.send(entry.frame!).then(() => {
      entry.queued = false;
      if (entry.resendWhenSent && host.window.holds(entry)) {
        entry.resendWhenSent = false;
        this.transmit(entry);
      } else arm();
    });
  }

  /**
   * A resend before the deadline, on evidence that a frame was lost. At most
   * four per deadline period: a board that keeps answering with NAKs or gaps
   * (broken, or out of step) would otherwise ping-pong with the host as fast
   * as the line allows; the deadline then decides.
   */
  resendEarly(entry: Pending): boolean {
    if (entry.early >= 4) return false;
    entry.early++;
    // A NAK can come back before the transport reports the damaged copy
    // sent: resend right after it, not at the deadline.
    if (entry.queued) entry.resendWhenSent = true;
    else this.transmit(entry);
    return true;
  }

  /**
   * SEQ_GAP: the board expects `expected` and executed nothing newer.
   * Resend, in order, every request in flight from `expected` on.
   *
   * One lost request makes every request behind it come back as a gap. The
   * first gap triggers the go-back; each request it resent whose earlier
   * transmission is still unanswered owes one more gap reply, which is
   * ignored when it comes, so a loss costs one go-back, not one per request
   * in the window. If such a reply was lost instead, the worst case is that
   * one real gap is ignored and the deadline resends.
   */
  goBack(entry: Pending, expected: number): void {
    this.host.stats.seqGaps++;
    if (entry.staleGaps > 0) {
      entry.staleGaps--;
      return;
    }
    for (const e of this.host.window.inflight) {
      if (!seqAfter(e.seq, expected)) continue;
      const owesGap = e !== entry && e.seq !== expected;
      if (this.resendEarly(e) && owesGap) e.staleGaps++;
    }
  }

  /**
   * The board executes and answers in order, so when `answered` gets its
   * reply, any request sent before it that is still unanswered lost its
   * reply (or its request: then the resend gets SEQ_GAP-free execution).
   * Resending now instead of at the deadline keeps a lossy line fast; a
   * needless resend only fetches a cached reply. Each resend gets a new
   * stamp, so one loss triggers one resend, not one per later reply.
   */
  fastRetransmit(answered: Pending): void {
    for (const e of this.host.window.inflight) {
      if (e !== answered && e.stamp < answered.stamp) this.resendEarly(e);
    }
  }

  private onDeadline(entry: Pending): void {
    const host = this.host;
    entry.timer = undefined;
    if (!host.window.holds(entry)) return;
    entry.early = 0;
    entry.misses++;
    if (entry.misses <= (entry.retries ?? host.maxRetries)) {
      this.transmit(entry);
      return;
    }
    host.stats.timeouts++;
    const command = entry.body.command;
    const error = new LinkTimeoutError(
      `no reply from the board to ${command} (seq ${entry.seq}) after ${entry.attempts} attempts ` +
        `${host.retransmitMs() + entry.extraTimeMs} ms apart: the link is down or the board hangs; ` +
        'whether the request ran is unknown, so reopen the session and re-read the state you depend on',
      command,
      entry.attempts,
    );
    // The board's expected seq is stuck at a request we gave up on: the
    // session cannot continue, so everything pending fails with it.
    host.giveUp(error);
  }
}

/**
 * Time for a full window of largest requests to reach the board and their
 * largest replies to come back, at 10 bits per byte, twice over, plus
 * 50 ms for the host's and the board's scheduling.
 */
export function defaultRetransmitMs(info: HelloInfo, window: number): number {
  const baud = info.linkBaud > 0 ? info.linkBaud : 115_200;
  const frameBytes = (payload: number) => payload + Limits.headerLength + Limits.crcLength + 6;
  const bytes = window * (frameBytes(info.maxRequestPayload) + frameBytes(info.maxReplyPayload));
  return Math.ceil(((2 * bytes * 10) / baud) * 1000) + 50;
}
