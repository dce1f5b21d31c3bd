/**
 * What the link's users see of it: its options, the options of one
 * request, what it tells its subscribers, and its counters.
 */

import type { BoardEvent, Reply, RequestBody } from '../protocol/index.ts';
import type { Timers } from '../transport/timers.ts';
import type { DeviceResetError, LinkClosedError } from './errors.ts';

/** A request the link sequences: everything but HELLO, which opens the session. */
export type SequencedRequest = Exclude<RequestBody, { command: 'hello' }>;
export type SequencedCommand = SequencedRequest['command'];

export interface LinkOptions {
  /** Time source for deadlines; defaults to the real clock. */
  timers?: Timers;
  /**
   * Retransmission deadline per attempt. Defaults to one computed from the
   * link's baud rate in the HELLO reply (time to move a full window of
   * largest frames both ways, plus slack), or 250 ms before HELLO.
   */
  retransmitTimeoutMs?: number;
  /** Retransmissions before giving up with LinkTimeoutError (default 10). */
  maxRetries?: number;
  /** Caps the board's window (never raises it). */
  window?: number;
  /** First sequence number (HELLO's); drawn from `random` when absent. */
  initialSeq?: number;
  /**
   * Source of randomness for the first sequence number, in [0, 1). Default
   * Math.random; a fault soak passes its seeded generator, so a failing seed
   * replays exactly.
   */
  random?: () => number;
  /**
   * A frame begun and not ended by its delimiter after the line has been
   * quiet this long is given up as damaged (its delimiter was lost): the
   * event it may have been is reported lost at once, instead of when the
   * next frame arrives. Default: 16 character times at the link's rate, at
   * least 20 ms (USB-serial adapters deliver in bursts).
   */
  partialFrameTimeoutMs?: number;
  /**
   * After the host has sent nothing for this long, a 0x00 goes before the
   * next frame, so whatever noise the board's receiver holds ends there
   * instead of ruining the frame (PROTOCOL.md §1). Default 10 ms.
   */
  idleFlushMs?: number;
}

export interface RequestOptions {
  /** Stop waiting: the promise rejects with the signal's reason. A request already sent still runs. */
  signal?: AbortSignal;
  /** Extra time the board needs to execute this request (a batch POLL), added to each deadline. */
  extraTimeMs?: number;
  /**
   * Called synchronously the moment the reply is matched, before any frame
   * after it is handled (an event right behind the reply comes after this
   * call) and before the promise settles. Not called when the request fails.
   */
  onReply?: (reply: Reply) => void;
  /**
   * Called once, when the request is first put on the wire. A request that
   * fails without it having been called never reached the board; one that
   * fails after may or may not have run.
   */
  onSent?: () => void;
  /** Retransmissions before giving up, for this request (default: the link's maxRetries). */
  retries?: number;
  /**
   * The session the request belongs to (`link.session` when its operation
   * began; default: the current one). It is sent only in that session: if
   * that session has ended, or ends before the request goes out, the
   * request fails with SessionEndedError and never reaches the board.
   */
  session?: number;
}

export type LinkNotification =
  | { kind: 'event'; event: BoardEvent }
  | { kind: 'events-lost'; expected: number; received: number; lost: number }
  /**
   * A frame from the board arrived damaged. If it was an event, that event is
   * lost, and no later event may come to reveal the gap in counters: whoever
   * waits for one should re-read the state it depends on.
   */
  | { kind: 'frame-damaged' }
  | { kind: 'reset'; error: DeviceResetError }
  /**
   * A new session is being opened: told synchronously, before its HELLO is
   * sent, so whoever holds state of the old session can void it before
   * anything of the new one reaches the board (the new session stops every
   * DMA channel and resets USART1, PROTOCOL.md §4).
   */
  | { kind: 'session-opening'; session: number }
  | { kind: 'closed'; error: LinkClosedError };

export type LinkListener = (notification: LinkNotification) => void;

export interface LinkStats {
  framesSent: number;
  framesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  retransmissions: number;
  corruptFrames: number;
  invalidFrames: number;
  naks: number;
  seqGaps: number;
  timeouts: number;
  unmatchedReplies: number;
  events: number;
  duplicateEvents: number;
  eventsLost: number;
  resets: number;
  listenerErrors: number;
}

export type LinkState = 'opening' | 'open' | 'no-session' | 'closed';

export function newLinkStats(): LinkStats {
  return {
    framesSent: 0,
    framesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    retransmissions: 0,
    corruptFrames: 0,
    invalidFrames: 0,
    naks: 0,
    seqGaps: 0,
    timeouts: 0,
    unmatchedReplies: 0,
    events: 0,
    duplicateEvents: 0,
    eventsLost: 0,
    resets: 0,
    listenerErrors: 0,
  };
}
