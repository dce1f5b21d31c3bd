/**
 * The link: requests and replies over frames, exactly once, in order.
 *
 * - A session starts with HELLO at a random sequence number S; sequenced
 *   requests then carry S+1, S+2, ... (PROTOCOL.md §4).
 * - Up to `window` requests are in flight. Each has a retransmission
 *   deadline; on expiry, on SEQ_GAP (go back to the board's expected seq) or
 *   on a NAK naming it, its exact frame is sent again. The board executes a
 *   seq once and answers repeats from its reply cache, which is what makes
 *   retransmission safe: exactly-once is the board's rule, the link only
 *   has to never give up on a seq silently.
 * - Replies are matched by seq and type; anything else is counted and
 *   dropped. Events go to subscribers. Events lost on the way are reported
 *   as `events-lost`, from a gap in the event counters or from a reply's
 *   event mark (PROTOCOL.md §3), so a lost last event is noticed at the
 *   next reply; a frame whose delimiter never comes is given up as damaged
 *   once the line has been quiet for `partialFrameTimeoutMs`.
 * - A reset of the board (BOOT event, NO_SESSION, a changed HELLO epoch)
 *   fails all pending work with `DeviceResetError`; a closed transport with
 *   `LinkClosedError`; running out of retries with `LinkTimeoutError`. The
 *   link then refuses new work until `reopen()`.
 *
 * Every promise handed out settles: each pending request is failed on
 * every path that abandons it, and no internal promise is left without a
 * handler.
 */

import {
  type BoardEvent,
  type Decoded,
  EncodeError,
  encodeMessage,
  FrameDecoder,
  type HelloInfo,
  Limits,
  type Reply,
  type ReplyTo,
  type RequestBody,
  Status,
} from '../protocol/index.ts';
import { realTimers, type TimerId, type Timers } from '../transport/timers.ts';
import type { Transport } from '../transport/transport.ts';
import {
  DeviceResetError,
  LinkClosedError,
  LinkProtocolError,
  LinkTimeoutError,
  LinkUsageError,
  type ResetEvidence,
  SessionEndedError,
} from './errors.ts';
import { EventTracker, type MarkFloor } from './event-tracker.ts';

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

interface Pending {
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

interface HelloAttempt {
  seq: number;
  attempts: number;
  queued: boolean;
  timer: TimerId | undefined;
  frame: Uint8Array;
  resolve(hello: HelloInfo): void;
  reject(error: Error): void;
}

/** The shortest delay the link re-arms a timer with, ms. */
const MIN_REARM_MS = 1;

const SEQ_MOD = 0x1_0000;
const seqAfter = (a: number, b: number) => (a - b + SEQ_MOD) % SEQ_MOD < 0x8000;

export class Link {
  readonly stats: LinkStats = {
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

  private readonly timers: Timers;
  private readonly maxRetries: number;
  private readonly decoder = new FrameDecoder();
  private readonly events = new EventTracker();
  private readonly listeners = new Set<LinkListener>();
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  private stateValue: LinkState = 'opening';
  /**
   * The current session's token: a new one when a session starts opening,
   * and when one ends (a reset, a session given up). Every request carries
   * the token of the session it was made in.
   */
  private sessionToken = 0;
  private session: HelloInfo | undefined;
  private knownEpoch: number | undefined;
  /** Why the link refuses work while not open. */
  private refusal: Error | undefined;
  private hello: HelloAttempt | undefined;
  private nextSeq: number;
  private sessionHelloSeq = -1;
  private stamps = 0;
  private window = 1;
  private retransmitMs: number;
  private lastSendAt = Number.NEGATIVE_INFINITY;
  /** Wire bytes of the requests in flight (their latest transmission): at most the board's rxBuffer. */
  private inflightBytes = 0;
  private readonly idleWaiters = new Set<() => void>();
  private lastByteAt = 0;
  private partialTimer: TimerId | undefined;
  private readonly inflight: Pending[] = [];
  private readonly queue: Pending[] = [];

  private constructor(
    private readonly transport: Transport,
    private readonly options: LinkOptions,
  ) {
    this.timers = options.timers ?? realTimers;
    this.maxRetries = options.maxRetries ?? 10;
    this.retransmitMs = options.retransmitTimeoutMs ?? 250;
    this.nextSeq = options.initialSeq ?? Math.floor((options.random ?? Math.random)() * SEQ_MOD) % SEQ_MOD;
    this.writer = transport.writable.getWriter();
    this.reader = transport.readable.getReader();
  }

  /**
   * Starts reading the transport and opens a session with HELLO. Rejects
   * with LinkTimeoutError when the board never answers, LinkClosedError
   * when the transport ends first. The transport is closed on failure.
   */
  static async open(transport: Transport, options: LinkOptions = {}): Promise<Link> {
    const link = new Link(transport, options);
    void link.readLoop();
    // HELLO goes out with a 0x00 before it (see `send`), which flushes
    // whatever noise the line carried before the port opened (§1).
    try {
      await link.openSession();
    } catch (e) {
      await link.close();
      throw e;
    }
    return link;
  }

  get state(): LinkState {
    return this.stateValue;
  }

  /** The HELLO reply of the current session (the last one after a reset). */
  get helloInfo(): HelloInfo {
    // open() only returns after a session opened, so this is always set for callers.
    return this.session!;
  }

  /** The board's boot epoch as last known. */
  get epoch(): number | undefined {
    return this.knownEpoch;
  }

  get inFlight(): number {
    return this.inflight.length;
  }

  /** The current session's token (see RequestOptions.session). */
  get sessionId(): number {
    return this.sessionToken;
  }

  get effectiveWindow(): number {
    return this.window;
  }

  get retransmitTimeoutMs(): number {
    return this.retransmitMs;
  }

  /** Resolves once no request is queued or in flight (or the link stopped working). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.add(resolve));
  }

  /** The board and the transport now run at `baud` (SET_LINK_BAUD): deadlines follow the new rate. */
  adoptBaud(baud: number): void {
    if (this.session) this.session = { ...this.session, linkBaud: baud };
    this.retransmitMs = this.options.retransmitTimeoutMs ?? defaultRetransmitMs(this.session!, this.window);
    this.decoder.reset();
  }

  /** The transport this link runs on (to change its rate). */
  get transportInUse(): Transport {
    return this.transport;
  }

  /** Listens to events, lost events, resets and closure. Returns the unsubscribe function. */
  subscribe(listener: LinkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sends a sequenced request and resolves with its reply, whatever its
   * status: turning refusals into errors is the board layer's job. Rejects
   * only for link-level failures (reset, closed, timeout, abort).
   */
  request<C extends SequencedCommand>(
    body: Extract<SequencedRequest, { command: C }>,
    options: RequestOptions = {},
  ): Promise<ReplyTo<C>> {
    return new Promise<ReplyTo<C>>((resolve, reject) => {
      if ((body as RequestBody).command === 'hello') {
        reject(new LinkUsageError('HELLO opens the session: use Link.open() or reopen(), not request()'));
        return;
      }
      if (this.stateValue === 'closed' || this.stateValue === 'no-session') {
        reject(this.refusalError());
        return;
      }
      const session = options.session ?? this.sessionToken;
      if (session !== this.sessionToken) {
        reject(new SessionEndedError(body.command, false, 'the session it belongs to has ended'));
        return;
      }
      const signal = options.signal;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const entry: Pending = {
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
        // The link matched the reply by seq and command, so it is a ReplyTo<C>.
        resolve: (reply) => resolve(reply as ReplyTo<C>),
        reject,
        detachAbort: () => {},
      };
      if (signal) {
        const onAbort = () => this.abandon(entry, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detachAbort = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  /**
   * Opens a new session (after a reset or a timeout). Requests made while
   * it runs wait for it. If the board's epoch changed since the last
   * session, subscribers get a `reset` notification (once per reset).
   */
  async reopen(): Promise<HelloInfo> {
    if (this.stateValue === 'closed') throw this.refusalError();
    if (this.stateValue === 'opening') {
      throw new LinkUsageError('a session is already being opened; wait for it');
    }
    // Everything pending belongs to the old session and is never sent in
    // the new one: whether those in flight ran is unknown; queued ones never
    // reached the board.
    const inflight = this.inflight.splice(0);
    const queued = this.queue.splice(0);
    this.inflightBytes = 0;
    for (const e of inflight)
      this.fail(e, new SessionEndedError(e.body.command, true, 'the session was reopened'));
    for (const e of queued)
      this.fail(e, new SessionEndedError(e.body.command, false, 'the session was reopened'));
    return this.openSession();
  }

  /** Fails all pending work with LinkClosedError and closes the transport. Idempotent. */
  async close(): Promise<void> {
    if (this.stateValue === 'closed') return;
    this.shutdown(new LinkClosedError('the link was closed by the application'));
    try {
      await this.reader.cancel();
    } catch {
      // The stream already failed; there is nothing left to cancel.
    }
    this.writer.releaseLock();
    await this.transport.close();
  }

  // ------------------------------------------------------------ session

  private openSession(): Promise<HelloInfo> {
    this.stateValue = 'opening';
    this.refusal = undefined;
    this.sessionToken++;
    // The board treats a HELLO with its session's HELLO seq as a
    // retransmission and keeps the session, so never reuse that one.
    if (this.session !== undefined && this.nextSeq === this.sessionHelloSeq) {
      this.nextSeq = (this.nextSeq + 1) % SEQ_MOD;
    }
    const seq = this.nextSeq;
    return new Promise<HelloInfo>((resolve, reject) => {
      const frame = encodeMessage({ kind: 'request', command: 'hello', seq });
      this.hello = { seq, attempts: 0, queued: false, timer: undefined, frame, resolve, reject };
      // Before the HELLO goes out: nothing of the old session may survive into this one.
      this.notify({ kind: 'session-opening', session: this.sessionToken });
      this.transmitHello();
    });
  }

  private transmitHello(): void {
    const h = this.hello;
    if (!h) return;
    if (h.attempts > this.maxRetries) {
      this.hello = undefined;
      this.stats.timeouts++;
      const unreadable =
        this.stats.corruptFrames + this.stats.invalidFrames > 0
          ? ` (${this.stats.corruptFrames} corrupt and ${this.stats.invalidFrames} unreadable frames came back)`
          : '';
      const error = new LinkTimeoutError(
        `the board did not answer HELLO after ${h.attempts} attempts${unreadable}: check that the bridge ` +
          'firmware runs, that this is its port and that the baud rate matches',
        'hello',
        h.attempts,
      );
      this.enterNoSession(error);
      h.reject(error);
      return;
    }
    this.timers.clearTimeout(h.timer);
    h.timer = undefined;
    // Each attempt's deadline runs from when its bytes left the host: a
    // transport still busy with earlier bytes (a backlog after a silent
    // board) must not use up the attempts.
    const arm = () => {
      if (this.hello === h && h.timer === undefined) {
        h.timer = this.timers.setTimeout(() => this.transmitHello(), this.retransmitMs);
      }
    };
    if (h.queued) {
      arm();
      return;
    }
    if (h.attempts > 0) this.stats.retransmissions++;
    h.attempts++;
    h.queued = true;
    void this.send(h.frame).then(() => {
      h.queued = false;
      arm();
    });
  }

  private onHelloReply(reply: ReplyTo<'hello'>): void {
    const h = this.hello;
    if (!h || reply.seq !== h.seq) {
      this.stats.unmatchedReplies++;
      return;
    }
    this.timers.clearTimeout(h.timer);
    this.hello = undefined;
    const r = reply.result;
    if (r.status !== Status.OK) {
      const error = new LinkProtocolError(
        `the board refused HELLO with status ${r.status}: it may speak another protocol version`,
      );
      this.enterNoSession(error);
      h.reject(error);
      return;
    }
    const info = r.hello;
    const previous = this.knownEpoch;
    this.session = info;
    this.sessionHelloSeq = h.seq;
    this.knownEpoch = info.bootEpoch;
    this.nextSeq = (h.seq + 1) % SEQ_MOD;
    // The new session starts here: events before the mark belong to the past.
    this.events.resetTo(reply.mark);
    this.window = Math.max(1, Math.min(info.window, this.options.window ?? Number.POSITIVE_INFINITY));
    this.retransmitMs = this.options.retransmitTimeoutMs ?? defaultRetransmitMs(info, this.window);
    this.decoder.reset();
    this.stateValue = 'open';
    if (previous !== undefined && previous !== info.bootEpoch) {
      this.announceReset(new DeviceResetError(previous, info.bootEpoch, 'hello-epoch'));
    }
    h.resolve(info);
    this.pump();
  }

  private announceReset(error: DeviceResetError): void {
    this.stats.resets++;
    this.notify({ kind: 'reset', error });
  }

  /**
   * Evidence of a reset carrying the board's new epoch. The epoch we know
   * is updated at once, so the same reset reported three ways (BOOT, then
   * NO_SESSION to each request in flight) is acted on once, and news older
   * than the current session (a NO_SESSION delayed past our HELLO) is
   * recognised by its epoch and ignored.
   */
  private onDeviceReset(bootEpoch: number, evidence: ResetEvidence): void {
    if (this.stateValue === 'closed' || bootEpoch === this.knownEpoch) return;
    const error = new DeviceResetError(this.knownEpoch, bootEpoch, evidence);
    this.knownEpoch = bootEpoch;
    this.events.reset();
    if (this.stateValue === 'open') this.enterNoSession(error);
    else if (this.stateValue === 'opening') {
      // The HELLO in flight reaches the new boot and is answered by it, but
      // the requests queued behind it were made before the reset: they fail.
      this.sessionToken++;
      this.failAll(error);
    }
    this.announceReset(error);
  }

  private enterNoSession(error: Error): void {
    this.stateValue = 'no-session';
    this.refusal = error;
    this.sessionToken++;
    this.failAll(error);
  }

  private refusalError(): Error {
    const r = this.refusal;
    if (r instanceof DeviceResetError) return new DeviceResetError(r.previousEpoch, r.bootEpoch, r.evidence);
    if (r instanceof LinkTimeoutError) {
      return new LinkTimeoutError(
        `${r.message} (the session was abandoned; call reopen() to start a new one)`,
        r.command,
        r.attempts,
      );
    }
    return r ?? new LinkClosedError('the link is closed');
  }

  // ------------------------------------------------------------ requests

  private pump(): void {
    if (this.stateValue !== 'open') return;
    while (this.queue.length > 0 && this.windowHasRoom()) {
      const entry = this.queue[0]!;
      if (entry.abandoned) {
        this.queue.shift();
        continue;
      }
      if (entry.session !== this.sessionToken) {
        // Made in a session that has ended: never sent in this one.
        this.queue.shift();
        this.fail(
          entry,
          new SessionEndedError(entry.body.command, false, 'the session it belongs to has ended'),
        );
        continue;
      }
      let frame: Uint8Array;
      try {
        frame = encodeMessage({ kind: 'request', seq: this.nextSeq, ...entry.body });
      } catch (e) {
        // Not sent, so the seq is not used: the next request takes it.
        this.queue.shift();
        entry.detachAbort();
        entry.reject(e instanceof EncodeError ? e : new LinkProtocolError(String(e)));
        continue;
      }
      if (!this.creditAllows(frame.length)) break;
      this.queue.shift();
      entry.seq = this.nextSeq;
      entry.frame = frame;
      this.nextSeq = (this.nextSeq + 1) % SEQ_MOD;
      this.inflight.push(entry);
      this.inflightBytes += wireBytes(frame);
      this.transmit(entry);
    }
    if (this.isIdle()) this.wakeIdle();
  }

  /**
   * The board's receive buffer (HELLO's rxBuffer) holds every request the
   * host has sent and not seen answered: one more frame goes out only if it
   * fits beside them (or nothing is in flight), so no byte is ever lost to a
   * full buffer, whatever the line rate (PROTOCOL.md §2).
   */
  private creditAllows(frameLength: number): boolean {
    const credit = this.session?.rxBuffer;
    return (
      credit === undefined || this.inflight.length === 0 || this.inflightBytes + frameLength + 1 <= credit
    );
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0;
  }

  private wakeIdle(): void {
    for (const w of [...this.idleWaiters]) w();
    this.idleWaiters.clear();
  }

  private dropInflight(entry: Pending): void {
    const i = this.inflight.indexOf(entry);
    if (i < 0) return;
    this.inflight.splice(i, 1);
    this.inflightBytes -= wireBytes(entry.frame!);
  }

  /**
   * The window slides over sequence numbers, not over a count: replies can
   * complete out of order (a lost one is retransmitted while later ones
   * arrive), and the board caches only the last `window` replies, so a new
   * seq must stay within `window` of the oldest unanswered one, or that
   * one's reply could leave the cache before its retransmission arrives.
   */
  private windowHasRoom(): boolean {
    const oldest = this.inflight[0];
    return oldest === undefined || (this.nextSeq - oldest.seq + SEQ_MOD) % SEQ_MOD < this.window;
  }

  private transmit(entry: Pending): void {
    // Only in the session it was made in (a session's end fails everything
    // pending in it; this keeps a stray timer or completion from ever
    // sending a frame of an old session).
    if (entry.session !== this.sessionToken) return;
    // Early resends (gap, NAK, fast retransmission) keep the running
    // deadline: a board that answered every frame with a NAK would
    // otherwise push the deadline back forever and the request would hang.
    // The deadline runs from when the bytes left the host, so a transport
    // still busy with earlier bytes does not use up the attempts.
    const arm = () => {
      if (entry.timer === undefined && this.inflight.includes(entry)) {
        entry.timer = this.timers.setTimeout(
          () => this.onDeadline(entry),
          this.retransmitMs + entry.extraTimeMs,
        );
      }
    };
    if (entry.queued) {
      // The last transmission has not even left: another copy would only pile up behind it.
      arm();
      return;
    }
    if (entry.attempts > 0) this.stats.retransmissions++;
    else entry.markFloor = this.events.floor();
    if (entry.attempts === 0 && entry.onSent) {
      try {
        entry.onSent();
      } catch {
        this.stats.listenerErrors++;
      }
    }
    entry.attempts++;
    entry.stamp = ++this.stamps;
    entry.queued = true;
    void this.send(entry.frame!).then(() => {
      entry.queued = false;
      if (entry.resendWhenSent && this.inflight.includes(entry)) {
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
  private resendEarly(entry: Pending): boolean {
    if (entry.early >= 4) return false;
    entry.early++;
    // A NAK can come back before the transport reports the damaged copy
    // sent: resend right after it, not at the deadline.
    if (entry.queued) entry.resendWhenSent = true;
    else this.transmit(entry);
    return true;
  }

  private onDeadline(entry: Pending): void {
    entry.timer = undefined;
    if (!this.inflight.includes(entry)) return;
    entry.early = 0;
    entry.misses++;
    if (entry.misses <= (entry.retries ?? this.maxRetries)) {
      this.transmit(entry);
      return;
    }
    this.stats.timeouts++;
    const command = entry.body.command;
    const error = new LinkTimeoutError(
      `no reply from the board to ${command} (seq ${entry.seq}) after ${entry.attempts} attempts ` +
        `${this.retransmitMs + entry.extraTimeMs} ms apart: the link is down or the board hangs; ` +
        'whether the request ran is unknown, so reopen the session and re-read the state you depend on',
      command,
      entry.attempts,
    );
    // The board's expected seq is stuck at a request we gave up on: the
    // session cannot continue, so everything pending fails with it.
    this.enterNoSession(error);
  }

  private abandon(entry: Pending, reason: unknown): void {
    if (entry.abandoned) return;
    entry.abandoned = true;
    entry.reject(reason);
    // An entry still queued has no seq yet and simply never goes out; one in
    // flight stays until answered, because the board will execute it.
  }

  private complete(entry: Pending, reply: Reply): void {
    this.dropInflight(entry);
    this.timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.detachAbort();
    if (entry.onReply) {
      try {
        entry.onReply(reply);
      } catch {
        // The caller's hook failing must not lose the reply or break the link.
        this.stats.listenerErrors++;
      }
    }
    if (!entry.abandoned) {
      entry.abandoned = true;
      entry.resolve(reply);
    }
    this.pump();
  }

  private fail(entry: Pending, error: Error): void {
    this.timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.detachAbort();
    if (!entry.abandoned) {
      entry.abandoned = true;
      entry.reject(error);
    }
  }

  private failAll(error: Error): void {
    const all = [...this.inflight, ...this.queue];
    this.inflight.length = 0;
    this.inflightBytes = 0;
    this.queue.length = 0;
    for (const e of all) this.fail(e, error);
    this.wakeIdle();
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
  private goBack(entry: Pending, expected: number): void {
    this.stats.seqGaps++;
    if (entry.staleGaps > 0) {
      entry.staleGaps--;
      return;
    }
    for (const e of this.inflight) {
      if (!seqAfter(e.seq, expected)) continue;
      const owesGap = e !== entry && e.seq !== expected;
      if (this.resendEarly(e) && owesGap) e.staleGaps++;
    }
  }

  // ------------------------------------------------------------ receiving

  private async readLoop(): Promise<void> {
    const onDecoded = (d: Decoded) => this.onDecoded(d);
    let error: LinkClosedError;
    try {
      for (;;) {
        const { done, value } = await this.reader.read();
        if (done) {
          error = new LinkClosedError('the transport closed: the board or its port went away');
          break;
        }
        this.stats.bytesReceived += value.length;
        this.decoder.push(value, onDecoded);
        this.watchPartialFrame();
      }
    } catch (e) {
      error = new LinkClosedError(`the transport failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
    if (this.stateValue !== 'closed') {
      this.shutdown(error);
      this.writer.releaseLock();
      this.transport.close().catch(() => {
        // Closing a transport that already failed may fail too; the link is closed either way.
      });
    }
  }

  /** Arms (or keeps) the timer that gives up a frame whose delimiter does not come. */
  private watchPartialFrame(): void {
    if (this.decoder.pendingBytes === 0) return;
    this.lastByteAt = this.timers.now();
    if (this.partialTimer === undefined) this.armPartialTimer(this.partialFrameTimeoutMs());
  }

  private armPartialTimer(ms: number): void {
    this.partialTimer = this.timers.setTimeout(() => {
      this.partialTimer = undefined;
      if (this.stateValue === 'closed' || this.decoder.pendingBytes === 0) return;
      const quiet = this.timers.now() - this.lastByteAt;
      const timeout = this.partialFrameTimeoutMs();
      if (quiet < timeout) {
        // Never shorter than the floor: a difference of two clock readings can
        // come out below the clock's resolution, and a timer that fires at
        // once, forever, would hold a virtual clock still.
        this.armPartialTimer(Math.max(MIN_REARM_MS, timeout - quiet));
        return;
      }
      this.decoder.abandonPartial((d) => this.onDecoded(d));
    }, ms);
  }

  private partialFrameTimeoutMs(): number {
    const option = this.options.partialFrameTimeoutMs;
    if (option !== undefined) return option;
    const baud = this.session?.linkBaud ?? 115_200;
    return Math.max(20, Math.ceil((16 * 10 * 1000) / (baud > 0 ? baud : 115_200)));
  }

  private onDecoded(d: Decoded): void {
    switch (d.kind) {
      case 'corrupt':
        this.stats.corruptFrames++;
        if (this.session !== undefined) this.notify({ kind: 'frame-damaged' });
        return;
      case 'invalid':
        this.stats.invalidFrames++;
        return;
      case 'request':
        // The board never sends requests: an echo or a loop-back cable.
        this.stats.invalidFrames++;
        return;
      case 'nak':
        this.stats.framesReceived++;
        if (this.stateValue === 'open') this.noteMark(d.mark);
        this.onNak(d.seq);
        return;
      case 'event':
        this.stats.framesReceived++;
        this.onEvent(d);
        return;
      case 'reply':
        this.stats.framesReceived++;
        this.onReply(d);
        return;
    }
  }

  private onNak(seq: number): void {
    this.stats.naks++;
    if (this.hello?.seq === seq) {
      this.timers.clearTimeout(this.hello.timer);
      this.transmitHello();
      return;
    }
    // The seq comes from a damaged frame: only a hint. Resend if it names one of ours.
    const entry = this.inflight.find((e) => e.seq === seq);
    if (entry) this.resendEarly(entry);
  }

  private onReply(reply: Reply): void {
    if (reply.command === 'hello') {
      this.onHelloReply(reply);
      return;
    }
    const entry = this.inflight.find((e) => e.seq === reply.seq);
    if (!entry || entry.body.command !== reply.command) {
      this.stats.unmatchedReplies++;
      return;
    }
    const r = reply.result;
    // A NO_SESSION comes from a board that reset: its mark counts that
    // boot's events, not the ones this session knows.
    if (r.status !== Status.NO_SESSION) this.noteMark(reply.mark, entry.markFloor);
    switch (r.status) {
      case Status.SEQ_GAP:
        this.goBack(entry, r.expected);
        return;
      case Status.NO_SESSION:
        this.onDeviceReset(r.bootEpoch, 'no-session');
        return;
      case Status.STALE:
        // Executed, but its reply left the cache: the window kept the host
        // from ever needing it, so one side broke the protocol.
        this.dropInflight(entry);
        this.fail(
          entry,
          new LinkProtocolError(
            `the board executed ${entry.body.command} (seq ${entry.seq}) but no longer has its reply (STALE): ` +
              're-read the state it changed',
          ),
        );
        this.pump();
        return;
      default:
        this.fastRetransmit(entry);
        this.complete(entry, reply);
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
  private fastRetransmit(answered: Pending): void {
    for (const e of this.inflight) {
      if (e !== answered && e.stamp < answered.stamp) this.resendEarly(e);
    }
  }

  /** A reply's event mark: the events below it that never came are lost. */
  private noteMark(mark: number, floor?: MarkFloor): void {
    const lost = this.events.mark(mark, floor);
    if (lost === 0) return;
    this.stats.eventsLost += lost;
    this.notify({ kind: 'events-lost', expected: (mark - lost) & 0xffff, received: mark, lost });
  }

  private onEvent(event: BoardEvent): void {
    this.stats.events++;
    if (event.event === 'boot' && this.session !== undefined) {
      this.onDeviceReset(event.bootEpoch, 'boot-event');
    }
    const verdict = this.events.observe(event.counter, event.event === 'boot');
    if (verdict.kind === 'duplicate') {
      this.stats.duplicateEvents++;
      return;
    }
    if (verdict.kind === 'gap') {
      this.stats.eventsLost += verdict.lost;
      this.notify({
        kind: 'events-lost',
        expected: verdict.expected,
        received: verdict.received,
        lost: verdict.lost,
      });
    }
    this.notify({ kind: 'event', event });
  }

  // ------------------------------------------------------------ plumbing

  /** Writes a frame; resolves (never rejects) once the transport took it or failed. */
  private send(frame: Uint8Array): Promise<void> {
    if (this.stateValue === 'closed') return Promise.resolve();
    this.stats.framesSent++;
    const now = this.timers.now();
    let bytes = frame;
    if (now - this.lastSendAt >= (this.options.idleFlushMs ?? 10)) {
      // After a quiet spell the board's receiver may hold noise: end it first.
      bytes = new Uint8Array(frame.length + 1);
      bytes.set(frame, 1);
    }
    this.lastSendAt = now;
    this.stats.bytesSent += bytes.length;
    return this.writer.write(bytes).catch((e: unknown) => {
      if (this.stateValue === 'closed') return;
      this.shutdown(
        new LinkClosedError(
          `writing to the transport failed: ${e instanceof Error ? e.message : String(e)}`,
          {
            cause: e,
          },
        ),
      );
      this.transport.close().catch(() => {
        // Already broken; the link is closed either way.
      });
    });
  }

  private shutdown(error: LinkClosedError): void {
    this.stateValue = 'closed';
    this.refusal = error;
    this.timers.clearTimeout(this.partialTimer);
    this.partialTimer = undefined;
    const h = this.hello;
    if (h) {
      this.timers.clearTimeout(h.timer);
      this.hello = undefined;
      h.reject(error);
    }
    this.failAll(error);
    this.notify({ kind: 'closed', error });
  }

  private notify(n: LinkNotification): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(n);
      } catch {
        // A subscriber's bug must not break the link for everyone else.
        this.stats.listenerErrors++;
      }
    }
  }
}

/** Bytes a frame takes on the wire, with the 0x00 that may go before it. */
function wireBytes(frame: Uint8Array): number {
  return frame.length + 1;
}

/**
 * Time for a full window of largest requests to reach the board and their
 * largest replies to come back, at 10 bits per byte, twice over, plus
 * 50 ms for the host's and the board's scheduling.
 */
function defaultRetransmitMs(info: HelloInfo, window: number): number {
  const baud = info.linkBaud > 0 ? info.linkBaud : 115_200;
  const frameBytes = (payload: number) => payload + Limits.headerLength + Limits.crcLength + 6;
  const bytes = window * (frameBytes(info.maxRequestPayload) + frameBytes(info.maxReplyPayload));
  return Math.ceil(((2 * bytes * 10) / baud) * 1000) + 50;
}
