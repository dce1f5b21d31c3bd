/**
 * The board's end of the line, driven by hand: a test reads every frame the
 * link wrote and answers exactly what it wants, when it wants, on a clock
 * that moves only when told. Its transport can hold the link's writes (a
 * busy line), fail them, end or fail the stream the link reads, and change
 * rate. Everything runs on promise jobs, so `flush()` (step-clock.ts) lets
 * the link and the peer catch up; a test of the link's rules takes
 * milliseconds.
 */

import { Link, type LinkOptions } from '../link/link.ts';
import {
  type Decoded,
  encodeMessage,
  FrameDecoder,
  type HelloInfo,
  Limits,
  type Message,
  PROTOCOL_VERSION,
  type Reply,
  type Request,
  Status,
} from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';
import { flush, StepClock } from './step-clock.ts';

/** What the peer's HELLO reply says unless a test says otherwise. */
export function helloInfo(overrides: Partial<HelloInfo> = {}): HelloInfo {
  return {
    protocolVersion: PROTOCOL_VERSION,
    firmwareVersion: { major: 2, minor: 4, patch: 0 },
    devId: 0x460,
    revId: 0x2000,
    uid: Uint8Array.from({ length: 12 }, (_, i) => i + 1),
    arenaBase: 0x2000_4000,
    arenaSize: 4096,
    maxRequestPayload: Limits.maxRequestPayload,
    maxReplyPayload: Limits.maxReplyPayload,
    window: 4,
    capabilities: 0b1111,
    bootEpoch: 0x1234_5678,
    usart1ClockHz: 64_000_000,
    linkBaud: 115_200,
    linkRates: [],
    ...overrides,
  };
}

interface HeldWrite {
  resolve(): void;
  reject(error: Error): void;
}

export class WirePeer {
  /** Every chunk the link wrote, as written (a chunk reaches the peer when the transport starts on it). */
  readonly chunks: Uint8Array[] = [];
  /** Every frame decoded from those chunks, in order. */
  readonly frames: Decoded[] = [];
  /** Bytes the link wrote, and bytes the peer sent it, since the start (`clear()` keeps them). */
  bytesFromLink = 0;
  bytesToLink = 0;
  /** Times the link closed the transport. */
  closes = 0;
  /** Whether the link cancelled its reading of the transport. */
  cancelled = false;
  /** Rates the link (or a rate switch) set, in order. */
  readonly rates: number[] = [];
  /** When set, setBaudRate fails with it. */
  rateError: Error | undefined;
  /** The event counter the peer's replies carry as their mark. */
  mark = 0;
  readonly transport: Transport & { setBaudRate(baud: number): Promise<void> };

  private readonly decoder = new FrameDecoder();
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private holding = false;
  private failing: Error | undefined;
  private readonly held: HeldWrite[] = [];

  constructor() {
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.cancelled = true;
      },
    });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => {
        if (this.failing) throw this.failing;
        this.chunks.push(chunk.slice());
        this.bytesFromLink += chunk.length;
        this.decoder.push(chunk, (d) => this.frames.push(d));
        if (!this.holding) return;
        return new Promise<void>((resolve, reject) => this.held.push({ resolve, reject }));
      },
    });
    this.transport = {
      readable,
      writable,
      close: async () => {
        this.closes++;
      },
      setBaudRate: async (baud: number) => {
        if (this.rateError) throw this.rateError;
        this.rates.push(baud);
      },
    };
  }

  /** The requests the link sent, in order (optionally of one command). */
  requests(command?: Request['command']): Request[] {
    return this.frames.filter(
      (f): f is Request => f.kind === 'request' && (command === undefined || f.command === command),
    );
  }

  /** The seqs of the requests sent, in order. */
  seqs(command?: Request['command']): number[] {
    return this.requests(command).map((r) => r.seq);
  }

  /** Forgets what was written so far. */
  clear(): void {
    this.chunks.length = 0;
    this.frames.length = 0;
  }

  /** Writes from now on stay in the transport until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Lets the held write (and everything queued behind it) go. */
  release(): void {
    this.holding = false;
    for (const w of this.held.splice(0)) w.resolve();
  }

  /** Writes from now on fail with `error`; a held one fails too. */
  failWrites(error: Error): void {
    this.failing = error;
    for (const w of this.held.splice(0)) w.reject(error);
  }

  send(message: Message): void {
    this.sendRaw(encodeMessage(message));
  }

  sendRaw(bytes: Uint8Array): void {
    this.bytesToLink += bytes.length;
    this.controller.enqueue(bytes.slice());
  }

  /** A reply to `request` with `result` (OK, with an empty or zero payload, unless told). */
  reply(request: { seq: number; command: Request['command'] }, result?: object, mark = this.mark): void {
    const r = result ?? defaultResult(request.command);
    this.send({ kind: 'reply', seq: request.seq, command: request.command, mark, result: r } as Reply);
  }

  /** Answers a HELLO. */
  replyHello(seq: number, info: HelloInfo = helloInfo(), mark = this.mark): void {
    this.send({ kind: 'reply', seq, command: 'hello', mark, result: { status: Status.OK, hello: info } });
  }

  nak(seq: number, mark = this.mark): void {
    this.send({ kind: 'nak', seq, mark, status: Status.BAD_CRC });
  }

  /** Ends the stream the link reads (the port went away). */
  end(): void {
    this.controller.close();
  }

  /** Fails the stream the link reads. */
  fail(error: Error): void {
    this.controller.error(error);
  }
}

function defaultResult(command: Request['command']): object {
  if (command === 'ping') return { status: Status.OK, data: new Uint8Array() };
  if (command === 'reg-read') return { status: Status.OK, value: 0 };
  return { status: Status.OK };
}

export interface Scripted {
  link: Link;
  peer: WirePeer;
  clock: StepClock;
  /** The HELLO seq the session opened with. */
  helloSeq: number;
}

/**
 * Opens a link on a scripted peer: HELLO at seq 100 unless told, answered
 * with `hello` and event mark `mark`. What was written so far is forgotten.
 * Deadlines: 100 ms, 3 retries unless told.
 */
export async function openScripted(
  options: { link?: LinkOptions; hello?: Partial<HelloInfo>; mark?: number } = {},
): Promise<Scripted> {
  const clock = new StepClock();
  const peer = new WirePeer();
  const opening = Link.open(peer.transport, {
    timers: clock,
    initialSeq: 100,
    retransmitTimeoutMs: 100,
    maxRetries: 3,
    ...options.link,
  });
  await flush();
  const hello = peer.requests('hello')[0]!;
  peer.mark = options.mark ?? 0;
  peer.replyHello(hello.seq, helloInfo(options.hello));
  const link = await opening;
  await flush();
  peer.clear();
  clock.delays.length = 0;
  return { link, peer, clock, helloSeq: hello.seq };
}

/** Opens a session again on the peer, answering the new HELLO. */
export async function reopenScripted(s: Scripted, hello: Partial<HelloInfo> = {}): Promise<HelloInfo> {
  const reopening = s.link.reopen();
  await flush();
  const h = s.peer.requests('hello').at(-1)!;
  s.peer.replyHello(h.seq, helloInfo(hello));
  return reopening;
}
