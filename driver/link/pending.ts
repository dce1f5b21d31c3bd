/** A request the link holds from the moment it is made until it is answered or failed. */

import type { Reply } from '../protocol/index.ts';
import type { TimerId } from '../transport/timers.ts';
import type { MarkFloor } from './event-tracker.ts';
import type { RequestOptions, SequencedRequest } from './link-types.ts';

export interface Pending {
  readonly body: SequencedRequest;
  /** The session it was made in: it is sent in no other. */
  readonly session: number;
  readonly extraTimeMs: number;
  readonly onReply: ((reply: Reply) => void) | undefined;
  readonly onSent: (() => void) | undefined;
  readonly retries: number | undefined;
  seq: number;
  frame: Uint8Array | undefined;
  attempts: number;
  /** Deadlines that passed without a reply; retransmissions for other reasons do not count. */
  misses: number;
  /** Resends since the last deadline for other reasons (gap, NAK, fast retransmission). */
  early: number;
  /** Order of the latest transmission among all transmissions (see `fastRetransmit`). */
  stamp: number;
  /** Where the event sequence stood when it was first sent: its reply's mark is placed against it. */
  markFloor: MarkFloor | undefined;
  /** SEQ_GAP replies still expected for transmissions a go-back superseded (see `goBack`). */
  staleGaps: number;
  timer: TimerId | undefined;
  /** The caller stopped waiting (abort); the entry stays to keep the seq space whole. */
  abandoned: boolean;
  /** A transmission is still queued in the transport: sending it again would only pile up. */
  queued: boolean;
  /** Evidence of a loss came while a copy was queued: send again as soon as it has left. */
  resendWhenSent: boolean;
  resolve(reply: Reply): void;
  /** Takes `unknown` because an abort rejects with whatever reason the signal carries. */
  reject(error: unknown): void;
  detachAbort(): void;
}

/** A new request of `session`, not yet sent; `resolve` and `reject` settle its promise. */
export function newPending(
  body: SequencedRequest,
  session: number,
  options: RequestOptions,
  resolve: (reply: Reply) => void,
  reject: (error: unknown) => void,
): Pending {
  return {
    body,
    session,
    extraTimeMs: options.extraTimeMs ?? 0,
    onReply: options.onReply,
    onSent: options.onSent,
    retries: options.retries,
    seq: -1,
    frame: undefined,
    attempts: 0,
    misses: 0,
    early: 0,
    stamp: 0,
    markFloor: undefined,
    staleGaps: 0,
    timer: undefined,
    abandoned: false,
    queued: false,
    resendWhenSent: false,
    resolve,
    reject,
    detachAbort: () => {},
  };
}
