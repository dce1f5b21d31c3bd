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
 * - A request belongs to the session it was made in and is never sent in
 *   another: when a session ends (reopened, a reset, given up) everything
 *   pending in it fails, and subscribers hear `session-opening` before a
 *   new session's HELLO goes out.
 *
 * Every promise handed out settles: each pending request is failed on
 * every path that abandons it, and no internal promise is left without a
 * handler.
 *
 * This file holds the session's state and routes frames; its parts live
 * beside it: hello-exchange.ts (opening a session), request-window.ts
 * (sequence numbers, window and receive-buffer credit), retransmission.ts,
 * partial-frames.ts, event-marks.ts, frame-writer.ts (the host's side of
 * the line) and pending.ts (a request the link holds).
 */

import {
  type BoardEvent,
  type Decoded,
  EncodeError,
  encodeMessage,
  FrameDecoder,
  type HelloInfo,
  type Reply,
  type ReplyTo,
  type RequestBody,
  Status,
} from '../protocol/index.ts';
import { realTimers, type Timers } from '../transport/timers.ts';
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
import { EventMarks } from './event-marks.ts';
import { FrameWriter } from './frame-writer.ts';
import { HelloExchange } from './hello-exchange.ts';
import {
  type LinkListener,
  type LinkNotification,
  type LinkOptions,
  type LinkState,
  type LinkStats,
  newLinkStats,
  type RequestOptions,
  type SequencedCommand,
  type SequencedRequest,
} from './link-types.ts';
import { defaultPartialFrameTimeoutMs, PartialFrameWatch } from './partial-frames.ts';
import { newPending, type Pending } from './pending.ts';
import { RequestWindow, SEQ_MOD } from './request-window.ts';
import { defaultRetransmitMs, Retransmission } from './retransmission.ts';

export type {
  LinkListener,
  LinkNotification,
  LinkOptions,
  LinkState,
  LinkStats,
  RequestOptions,
  SequencedCommand,
  SequencedRequest,
} from './link-types.ts';

export class Link {
  readonly stats: LinkStats = newLinkStats();

  private readonly timers: Timers;
  private readonly maxRetries: number;
  private readonly decoder = new FrameDecoder();
  private readonly listeners = new Set<LinkListener>();
  private readonly writer: FrameWriter;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly requests: RequestWindow;
  private readonly retransmission: Retransmission;
  private readonly hello: HelloExchange;
  private readonly partial: PartialFrameWatch;
  private readonly events: EventMarks;

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
  private sessionHelloSeq = -1;
  private retransmitMs: number;

  private constructor(
    private readonly transport: Transport,
    private readonly options: LinkOptions,
  ) {
    const timers = options.timers ?? realTimers;
    const maxRetries = options.maxRetries ?? 10;
    this.timers = timers;
    this.maxRetries = maxRetries;
    this.retransmitMs = options.retransmitTimeoutMs ?? 250;
    this.requests = new RequestWindow(
      options.initialSeq ?? Math.floor((options.random ?? Math.random)() * SEQ_MOD) % SEQ_MOD,
    );
    const send = (frame: Uint8Array) => this.send(frame);
    const stats = this.stats;
    this.events = new EventMarks(stats, (n) => this.notify(n));
    this.retransmission = new Retransmission({
      timers,
      stats,
      window: this.requests,
      maxRetries,
      retransmitMs: () => this.retransmitMs,
      session: () => this.sessionToken,
      markFloor: () => this.events.floor(),
      send,
      giveUp: (error) => this.enterNoSession(error),
    });
    this.hello = new HelloExchange({
      timers,
      stats,
      maxRetries,
      retransmitMs: () => this.retransmitMs,
      send,
      failed: (error) => this.enterNoSession(error),
      opened: (info, helloSeq, mark) => this.sessionOpened(info, helloSeq, mark),
    });
    this.partial = new PartialFrameWatch(
      timers,
      () => this.options.partialFrameTimeoutMs ?? defaultPartialFrameTimeoutMs(this.session?.linkBaud),
      () => this.stateValue !== 'closed' && this.decoder.pendingBytes > 0,
      () => this.decoder.abandonPartial((d) => this.onDecoded(d)),
    );
    this.writer = new FrameWriter(
      transport.writable.getWriter(),
      timers,
      stats,
      options.idleFlushMs ?? 10,
      (e) => this.writeFailed(e),
    );
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
    return this.requests.inflight.length;
  }

  /** The current session's token (see RequestOptions.session). */
  get sessionId(): number {
    return this.sessionToken;
  }

  get effectiveWindow(): number {
    return this.requests.size;
  }

  get retransmitTimeoutMs(): number {
    return this.retransmitMs;
  }

  /** Resolves once no request is queued or in flight (or the link stopped working). */
  idle(): Promise<void> {
    return this.requests.idle();
  }

  /** The board and the transport now run at `baud` (SET_LINK_BAUD): deadlines follow the new rate. */
  adoptBaud(baud: number): void {
    if (this.session) this.session = { ...this.session, linkBaud: baud };
    this.retransmitMs =
      this.options.retransmitTimeoutMs ?? defaultRetransmitMs(this.session!, this.requests.size);
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
      // The link matches the reply by seq and command, so it is a ReplyTo<C>.
      const entry = newPending(body, session, options, (reply) => resolve(reply as ReplyTo<C>), reject);
      if (signal) {
        const onAbort = () => this.abandon(entry, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detachAbort = () => signal.removeEventListener('abort', onAbort);
      }
      this.requests.queue.push(entry);
      this.pump();
    });
  }

  /**
   * Opens a new session (after a reset or a timeout). Everything still
   * pending belongs to the old session and fails with SessionEndedError
   * (never sent in the new one); subscribers hear `session-opening` before
   * the HELLO goes out. Requests made while it runs belong to the new
   * session and wait for it. If the board's epoch changed since the last
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
    const { inflight, queued } = this.requests.takeAll();
    for (const e of [...inflight, ...queued]) {
      this.fail(e, new SessionEndedError(e.body.command, e.attempts > 0, 'the session was reopened'));
    }
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
    const requests = this.requests;
    if (this.session !== undefined && requests.nextSeq === this.sessionHelloSeq) {
      requests.nextSeq = (requests.nextSeq + 1) % SEQ_MOD;
    }
    // Before the HELLO goes out: nothing of the old session may survive into this one.
    return this.hello.open(requests.nextSeq, () =>
      this.notify({ kind: 'session-opening', session: this.sessionToken }),
    );
  }

  private sessionOpened(info: HelloInfo, helloSeq: number, mark: number): void {
    const previous = this.knownEpoch;
    this.session = info;
    this.sessionHelloSeq = helloSeq;
    this.knownEpoch = info.bootEpoch;
    const requests = this.requests;
    requests.nextSeq = (helloSeq + 1) % SEQ_MOD;
    // The new session starts here: events before the mark belong to the past.
    this.events.sessionOpened(mark);
    requests.size = Math.max(1, Math.min(info.window, this.options.window ?? Number.POSITIVE_INFINITY));
    requests.credit = info.rxBuffer;
    this.retransmitMs = this.options.retransmitTimeoutMs ?? defaultRetransmitMs(info, requests.size);
    this.decoder.reset();
    this.stateValue = 'open';
    if (previous !== undefined && previous !== info.bootEpoch) {
      this.announceReset(new DeviceResetError(previous, info.bootEpoch, 'hello-epoch'));
    }
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
    this.events.boardReset();
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

  /** Sends what the window and the board's receive buffer allow, in order. */
  private pump(): void {
    if (this.stateValue !== 'open') return;
    const requests = this.requests;
    const queue = requests.queue;
    while (queue.length > 0 && requests.hasRoom()) {
      const entry = queue[0]!;
      if (entry.abandoned) {
        queue.shift();
        continue;
      }
      if (entry.session !== this.sessionToken) {
        // Made in a session that has ended: never sent in this one.
        queue.shift();
        this.fail(
          entry,
          new SessionEndedError(entry.body.command, false, 'the session it belongs to has ended'),
        );
        continue;
      }
      let frame: Uint8Array;
      try {
        frame = encodeMessage({ kind: 'request', seq: requests.nextSeq, ...entry.body });
      } catch (e) {
        // Not sent, so the seq is not used: the next request takes it.
        queue.shift();
        entry.detachAbort();
        entry.reject(e instanceof EncodeError ? e : new LinkProtocolError(String(e)));
        continue;
      }
      if (!requests.creditAllows(frame.length)) break;
      queue.shift();
      requests.admit(entry, frame);
      this.retransmission.transmit(entry);
    }
    if (requests.isIdle) requests.wakeIdle();
  }

  private abandon(entry: Pending, reason: unknown): void {
    if (entry.abandoned) return;
    entry.abandoned = true;
    entry.reject(reason);
    // An entry still queued has no seq yet and simply never goes out; one in
    // flight stays until answered, because the board will execute it.
  }

  private complete(entry: Pending, reply: Reply): void {
    this.requests.drop(entry);
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
    const { inflight, queued } = this.requests.takeAll();
    for (const e of [...inflight, ...queued]) this.fail(e, error);
    this.requests.wakeIdle();
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
        this.partial.bytesArrived();
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

  private onDecoded(d: Decoded): void {
    switch (d.kind) {
      case 'corrupt':
        this.stats.corruptFrames++;
        if (this.session !== undefined) this.notify({ kind: 'frame-damaged' });
        return;
      case 'invalid':
      // The board never sends requests: an echo or a loop-back cable.
      case 'request':
        this.stats.invalidFrames++;
        return;
      case 'nak':
        this.stats.framesReceived++;
        if (this.stateValue === 'open') this.events.noteMark(d.mark);
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
    if (this.hello.nak(seq)) return;
    // The seq comes from a damaged frame: only a hint. Resend if it names one of ours.
    const entry = this.requests.bySeq(seq);
    if (entry) this.retransmission.resendEarly(entry);
  }

  private onReply(reply: Reply): void {
    if (reply.command === 'hello') {
      if (!this.hello.answered(reply)) this.stats.unmatchedReplies++;
      // Requests made while the session opened go out now (nothing when HELLO was refused).
      else this.pump();
      return;
    }
    const entry = this.requests.bySeq(reply.seq);
    if (!entry || entry.body.command !== reply.command) {
      this.stats.unmatchedReplies++;
      return;
    }
    const r = reply.result;
    // A NO_SESSION comes from a board that reset: its mark counts that
    // boot's events, not the ones this session knows.
    if (r.status !== Status.NO_SESSION) this.events.noteMark(reply.mark, entry.markFloor);
    switch (r.status) {
      case Status.SEQ_GAP:
        this.retransmission.goBack(entry, r.expected);
        return;
      case Status.NO_SESSION:
        this.onDeviceReset(r.bootEpoch, 'no-session');
        return;
      case Status.STALE:
        // Executed, but its reply left the cache: the window kept the host
        // from ever needing it, so one side broke the protocol.
        this.requests.drop(entry);
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
        this.retransmission.fastRetransmit(entry);
        this.complete(entry, reply);
    }
  }

  private onEvent(event: BoardEvent): void {
    this.stats.events++;
    if (event.event === 'boot' && this.session !== undefined) {
      this.onDeviceReset(event.bootEpoch, 'boot-event');
    }
    this.events.received(event);
  }

  // ------------------------------------------------------------ plumbing

  /** Writes a frame; resolves (never rejects) once the transport took it or failed. */
  private send(frame: Uint8Array): Promise<void> {
    if (this.stateValue === 'closed') return Promise.resolve();
    return this.writer.write(frame);
  }

  private writeFailed(e: unknown): void {
    if (this.stateValue === 'closed') return;
    this.shutdown(
      new LinkClosedError(`writing to the transport failed: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      }),
    );
    this.transport.close().catch(() => {
      // Already broken; the link is closed either way.
    });
  }

  private shutdown(error: LinkClosedError): void {
    this.stateValue = 'closed';
    this.refusal = error;
    this.partial.stop();
    this.hello.cancel(error);
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
