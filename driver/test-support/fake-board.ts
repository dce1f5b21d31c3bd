/**
 * A fake bridge board speaking PROTOCOL.md on the device end of a
 * transport: sessions, exactly-once sequencing with a reply cache, NAKs,
 * the allow-list and DMA start checks, an arena, a USART1 whose TDR writes
 * are recorded and whose RDR reads come from a queue, and events: a DMA TC
 * when a transfer completes (then USART1's TC for a transmit with TCIE, as
 * the fake sends at once), others on demand. Its events have the layouts of
 * the firmware version it reports (2.4 unless told: USART events name the
 * channels' starts).
 * It answers synchronously; tests damage the line with the fault injector
 * or with the `onRequest` hook.
 */

import {
  type BatchOp,
  type BoardEvent,
  type Decoded,
  type DistributiveOmit,
  encodeMessage,
  encodeRawFrame,
  type FirmwareVersion,
  FrameDecoder,
  type HelloInfo,
  Limits,
  PROTOCOL_VERSION,
  type Refusal,
  type Reply,
  type Request,
  Status,
  COMMAND_TYPE as TYPES,
} from '../protocol/index.ts';
import type { Transport } from '../transport/transport.ts';

export const FAKE = {
  DMA_ISR: 0x4002_0000,
  DMA_IFCR: 0x4002_0004,
  CCR1: 0x4002_0008,
  CNDTR1: 0x4002_000c,
  CPAR1: 0x4002_0010,
  CMAR1: 0x4002_0014,
  CCR2: 0x4002_001c,
  CMAR2: 0x4002_0028,
  C0CR: 0x4002_0800,
  C1CR: 0x4002_0804,
  USART1: 0x4001_3800,
  USART_CR1: 0x4001_3800,
  USART_ISR: 0x4001_381c,
  USART_ICR: 0x4001_3820,
  USART_RDR: 0x4001_3824,
  USART_TDR: 0x4001_3828,
  USART_PRESC: 0x4001_382c,
} as const;

/**
 * The value checks of PROTOCOL.md §6 as the firmware's policy has them
 * (firmware-bridge/src/core/policy.c): bits a write may not set, by
 * register, and the values a DMAMUX channel may take.
 * test/fake-board-parity.test.ts sends the same probes to this fake and to
 * the real firmware, so the two cannot drift apart.
 */
const REFUSED_BITS = new Map<number, number>([
  // RXNEIE, TXEIE, CMIE, RTOIE, EOBIE, TXFEIE, RXFFIE
  [FAKE.USART_CR1, ((1 << 5) | (1 << 7) | (1 << 14) | (1 << 26) | (1 << 27) | (1 << 30) | (1 << 31)) >>> 0],
  // LBDIE
  [FAKE.USART1 + 0x04, 1 << 6],
  // CTSIE, WUFIE, TXFTIE, TCBGTIE, RXFTIE
  [FAKE.USART1 + 0x08, (1 << 10) | (1 << 22) | (1 << 23) | (1 << 24) | (1 << 28)],
  // DMA1_IFCR: only channels 1 and 2's flags
  [FAKE.DMA_IFCR, ~0xff >>> 0],
]);
/** Off, USART1_RX or USART1_TX: the DMAMUX requests the bridge routes. */
const DMAMUX_VALUES = new Set([0, 50, 51]);

const READ_ONLY = new Set<number>([FAKE.DMA_ISR, FAKE.USART_ISR, FAKE.USART_RDR]);
const WRITE_ONLY = new Set<number>([FAKE.DMA_IFCR, FAKE.USART_ICR, 0x4001_3818 /* RQR */, FAKE.USART_TDR]);

export interface FakeBoardOptions {
  window?: number;
  arenaBase?: number;
  arenaSize?: number;
  bootEpoch?: number;
  devId?: number;
  protocolVersion?: number;
  capabilities?: number;
  maxRequestPayload?: number;
  maxReplyPayload?: number;
  /** Send a BOOT event as soon as the board starts (default true). */
  bootEvent?: boolean;
  /** A DMA start completes at once, moving the bytes (default true). */
  dmaCompletesAtOnce?: boolean;
  /**
   * A transmit whose DMA completed reports USART1's TC at once when CR1.TCIE
   * is set (default true): the fake's line is idle as soon as the DMA is done.
   */
  lineIdleAtOnce?: boolean;
  /** What HELLO and BOOT report (default 2.4.0); before 2.4, USART events name no starts. */
  firmwareVersion?: FirmwareVersion;
}

/** Firmware 2.4 added the channels' starts to USART events (PROTOCOL.md §10). */
function usartEventsNameStarts(v: FirmwareVersion): boolean {
  return v.major > 2 || (v.major === 2 && v.minor >= 4);
}

/** What a test's hook decides for a request: process it normally, or act as if it never arrived. */
export type HookVerdict = 'process' | 'drop-request' | 'drop-reply';

type EventBody = DistributiveOmit<BoardEvent, 'counter' | 'kind'>;

/**
 * The count of starts each channel begins at after a boot with `epoch`, as
 * the firmware draws it (PROTOCOL.md §3): murmur3's finaliser over the
 * epoch, channel 1 from the low half, channel 2 from the high half.
 */
export function startBases(epoch: number): [number, number] {
  let h = (epoch + 0x9e37_79b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return [h & 0xffff, h >>> 16];
}

export class FakeBoard {
  readonly registers = new Map<number, number>();
  readonly arena: Uint8Array;
  readonly usartTx: number[] = [];
  readonly usartRx: number[] = [];
  /** USART error flags (PE, FE, NE, ORE bits of ISR) a test raises. */
  usartErrors = 0;
  /** ISR.TC: the last character has left the wire (a test clears it to keep the line busy). */
  lineIdle = true;
  /** Sequenced requests executed (each exactly once). */
  executed = 0;
  readonly received: Request[] = [];
  /** Every byte the host sent, as it arrived (tests clear it). */
  readonly rawLog: number[] = [];
  onRequest: ((request: Request) => HookVerdict) | undefined;
  /** Called after a request's reply went out (to send something right behind it). */
  onReplied: ((request: Request) => void) | undefined;
  bootEpoch: number;
  readonly hello: HelloInfo;

  private readonly decoder = new FrameDecoder();
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private session: { helloSeq: number; expected: number } | undefined;
  private readonly cache = new Map<number, Uint8Array>();
  private readonly cacheOrder: number[] = [];
  private eventCounter = 0;
  private stopped = false;
  /** Starts (EN 0 → 1) of channels 1 and 2, from a base drawn at boot; completions since each one's start. */
  private readonly starts: number[];
  private readonly completions = [0, 0];

  constructor(
    private readonly transport: Transport,
    private readonly options: FakeBoardOptions = {},
  ) {
    this.bootEpoch = options.bootEpoch ?? 0x1234_0001;
    this.starts = startBases(this.bootEpoch);
    this.arena = new Uint8Array(options.arenaSize ?? 0x4000);
    this.hello = {
      protocolVersion: options.protocolVersion ?? PROTOCOL_VERSION,
      firmwareVersion: options.firmwareVersion ?? { major: 2, minor: 4, patch: 0 },
      devId: options.devId ?? 0x460,
      revId: 0x2000,
      uid: Uint8Array.from({ length: 12 }, (_, i) => i + 1),
      arenaBase: options.arenaBase ?? 0x2000_4000,
      arenaSize: this.arena.length,
      maxRequestPayload: options.maxRequestPayload ?? Limits.maxRequestPayload,
      maxReplyPayload: options.maxReplyPayload ?? Limits.maxReplyPayload,
      window: options.window ?? 4,
      capabilities: options.capabilities ?? 0b1111,
      bootEpoch: this.bootEpoch,
      usart1ClockHz: 64_000_000,
      linkBaud: 115_200,
      linkRates: [],
    };
    this.writer = transport.writable.getWriter();
    void this.readLoop();
    if (options.bootEvent ?? true)
      this.emitEvent({
        event: 'boot',
        bootEpoch: this.bootEpoch,
        firmwareVersion: this.hello.firmwareVersion,
      });
  }

  /** Resets the board: new epoch, no session, peripherals cleared, BOOT event (unless told not to). */
  reset(options: { bootEvent?: boolean; bootEpoch?: number } = {}): void {
    this.bootEpoch = options.bootEpoch ?? (this.bootEpoch + 1) >>> 0;
    this.hello.bootEpoch = this.bootEpoch;
    this.session = undefined;
    this.cache.clear();
    this.cacheOrder.length = 0;
    this.registers.clear();
    this.eventCounter = 0;
    this.starts.splice(0, 2, ...startBases(this.bootEpoch));
    this.completions.fill(0);
    if (options.bootEvent ?? true) {
      this.emitEvent({
        event: 'boot',
        bootEpoch: this.bootEpoch,
        firmwareVersion: this.hello.firmwareVersion,
      });
    }
  }

  /**
   * Sends an event with the next counter value (BOOT restarts at 0).
   * `lose`: the event uses its counter but never reaches the host (dropped
   * by the board or damaged on the line); `cutDelimiter`: its frame goes
   * out without the closing 0x00.
   */
  emitEvent(
    body: EventBody,
    options: { skipCounters?: number; lose?: boolean; cutDelimiter?: boolean } = {},
  ): void {
    if (body.event === 'boot') this.eventCounter = 0;
    this.eventCounter = (this.eventCounter + (options.skipCounters ?? 0)) & 0xffff;
    const event = { kind: 'event', counter: this.eventCounter, ...body } as BoardEvent;
    this.eventCounter = (this.eventCounter + 1) & 0xffff;
    if (options.lose) return;
    const frame = encodeMessage(event);
    this.send(options.cutDelimiter ? frame.subarray(0, frame.length - 1) : frame);
  }

  /**
   * Sends a USART event as the firmware's interrupt handler builds it from
   * `flags` (USART_ISR positions): ISR, both channels' CNDTR and, from
   * firmware 2.4, both channels' starts as they are now. `starts` overrides
   * the start numbers (an event of an earlier transfer).
   */
  emitUsartEvent(
    flags: number,
    options: { starts?: [number, number]; skipCounters?: number; lose?: boolean } = {},
  ): void {
    const starts = options.starts ?? this.starts;
    const named = usartEventsNameStarts(this.hello.firmwareVersion)
      ? { starts1: starts[0]!, starts2: starts[1]! }
      : {};
    this.emitEvent(
      {
        event: 'usart',
        flags,
        isr: (this.usartIsr() | flags) >>> 0,
        cndtr1: this.reg(FAKE.CNDTR1) & 0xffff,
        cndtr2: this.reg(FAKE.CCR2 + 4) & 0xffff,
        ...named,
      },
      options,
    );
  }

  /** The count of starts of DMA1 channel `channel` (1 or 2) now, as REG_BATCH STATUS reports it. */
  startsOf(channel: 1 | 2): number {
    return this.starts[channel - 1]!;
  }

  /** Sets the completions (HT and TC) channel `channel` counts since its start, as STATUS reports them. */
  setCompletions(channel: 1 | 2, count: number): void {
    this.completions[channel - 1] = count & 0xffff;
  }

  /** The frame of an event with the next counter, without sending it (see `sendRaw`). */
  encodeEvent(body: EventBody): Uint8Array {
    const event = { kind: 'event', counter: this.eventCounter, ...body } as BoardEvent;
    this.eventCounter = (this.eventCounter + 1) & 0xffff;
    return encodeMessage(event);
  }

  /** Puts bytes on the line as they are. */
  sendRaw(bytes: Uint8Array): void {
    this.send(bytes);
  }

  /** The event mark replies carry now: the counter of the next event. */
  get mark(): number {
    return this.eventCounter;
  }

  /** Sends a NAK naming `seq`, as for a frame refused before execution. */
  sendNak(seq: number, status: number = Status.BAD_CRC): void {
    this.send(
      encodeMessage({ kind: 'nak', mark: this.eventCounter, seq, status: status as typeof Status.BAD_CRC }),
    );
  }

  /** Stops answering (a hung board); the transport stays open. */
  hang(): void {
    this.stopped = true;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.transport.close();
  }

  reg(address: number): number {
    return this.registers.get(address) ?? 0;
  }

  // ------------------------------------------------------------ plumbing

  private send(frame: Uint8Array): void {
    this.writer.write(frame).catch(() => {
      // The host end went away; a real board would not notice either.
    });
  }

  private async readLoop(): Promise<void> {
    const reader = this.transport.readable.getReader();
    const onDecoded = (d: Decoded) => this.onDecoded(d);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        if (this.rawLog.length < 1 << 16) this.rawLog.push(...value);
        if (!this.stopped) this.decoder.push(value, onDecoded);
      }
    } catch {
      // The transport failed: the board stops listening, as on a real line.
    }
  }

  private onDecoded(d: Decoded): void {
    if (d.kind === 'corrupt') {
      const status =
        d.reason === 'crc' ? Status.BAD_CRC : d.reason === 'too-large' ? Status.TOO_LARGE : Status.BAD_FRAME;
      this.send(encodeMessage({ kind: 'nak', mark: this.eventCounter, seq: d.seqHint ?? 0, status }));
      return;
    }
    if (d.kind === 'invalid') {
      if (d.reason === 'version') {
        this.send(
          encodeMessage({ kind: 'nak', mark: this.eventCounter, seq: d.seq, status: Status.BAD_VERSION }),
        );
        return;
      }
      const status = d.reason === 'unknown-type' ? Status.UNKNOWN_COMMAND : Status.BAD_LENGTH;
      const payload = d.type === 0x05 ? Uint8Array.of(status, 0, 0) : Uint8Array.of(status);
      this.sequenced(d.seq, d.type, () => this.rawReply(d.type | 0x80, d.seq, payload));
      return;
    }
    if (d.kind !== 'request') return;
    const verdict = this.onRequest?.(d) ?? 'process';
    if (verdict === 'drop-request') return;
    this.received.push(d);
    const dropReply = verdict === 'drop-reply';
    if (d.command === 'hello') {
      const frame = this.onHello(d.seq);
      if (!dropReply) this.send(frame);
      return;
    }
    this.sequenced(d.seq, TYPES[d.command], () => encodeMessage(this.execute(d)), dropReply);
    this.onReplied?.(d);
  }

  private onHello(seq: number): Uint8Array {
    if (this.session?.helloSeq !== seq) {
      this.session = { helloSeq: seq, expected: (seq + 1) & 0xffff };
      this.cache.clear();
      this.cacheOrder.length = 0;
      // A new session stops what the last one left running (PROTOCOL.md §4).
      this.resetPeripherals();
    }
    return encodeMessage({
      kind: 'reply',
      mark: this.eventCounter,
      command: 'hello',
      seq,
      result: { status: Status.OK, hello: { ...this.hello } },
    });
  }

  /** §4: execute in order exactly once, answer repeats from the cache, refuse gaps. */
  private sequenced(seq: number, type: number, run: () => Uint8Array, dropReply = false): Uint8Array {
    const s = this.session;
    let frame: Uint8Array;
    if (!s) {
      frame = this.refusalFrame(seq, type, { status: Status.NO_SESSION, bootEpoch: this.bootEpoch });
    } else {
      const d = (seq - s.expected) & 0xffff;
      if (d === 0) {
        frame = run();
        this.executed++;
        s.expected = (s.expected + 1) & 0xffff;
        this.cache.set(seq, frame);
        this.cacheOrder.push(seq);
        while (this.cacheOrder.length > this.hello.window) this.cache.delete(this.cacheOrder.shift()!);
      } else if (d < 0x8000) {
        frame = this.refusalFrame(seq, type, { status: Status.SEQ_GAP, expected: s.expected });
      } else {
        frame = this.cache.get(seq) ?? this.refusalFrame(seq, type, { status: Status.STALE });
      }
    }
    if (!dropReply) this.send(frame);
    return frame;
  }

  private refusalFrame(seq: number, requestType: number, refusal: Refusal): Uint8Array {
    // Session refusals use the plain layout for every request type (§2).
    return this.rawReply(requestType | 0x80, seq, refusalPayload(refusal));
  }

  /** A reply frame with a payload the encoder would not build (refusals of unknown requests). */
  private rawReply(type: number, seq: number, payload: Uint8Array): Uint8Array {
    const body = new Uint8Array(Limits.markLength + payload.length);
    new DataView(body.buffer).setUint16(0, this.eventCounter, true);
    body.set(payload, Limits.markLength);
    return encodeRawFrame(PROTOCOL_VERSION, type, seq, body);
  }

  // ------------------------------------------------------------ execution

  private execute(r: Request): Reply {
    const seq = r.seq;
    switch (r.command) {
      case 'hello':
        throw new Error('unreachable: HELLO is not sequenced');
      case 'ping':
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'ping',
          seq,
          result: { status: Status.OK, data: r.data },
        };
      case 'reg-read': {
        const v = this.readReg(r.address);
        return typeof v === 'number'
          ? {
              kind: 'reply',
              mark: this.eventCounter,
              command: 'reg-read',
              seq,
              result: { status: Status.OK, value: v },
            }
          : { kind: 'reply', mark: this.eventCounter, command: 'reg-read', seq, result: v };
      }
      case 'reg-write': {
        const refusal = this.writeReg(r.address, r.value);
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'reg-write',
          seq,
          result: refusal ?? { status: Status.OK },
        };
      }
      case 'reg-batch':
        return this.batch(seq, r.ops);
      case 'mem-read': {
        const max = this.hello.maxReplyPayload - 8;
        const off = this.arenaOffset(r.address, r.length, max);
        if (off < 0)
          return {
            kind: 'reply',
            mark: this.eventCounter,
            command: 'mem-read',
            seq,
            result: { status: Status.OUT_OF_ARENA },
          };
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'mem-read',
          seq,
          result: { status: Status.OK, data: this.arena.slice(off, off + r.length) },
        };
      }
      case 'mem-write': {
        const max = this.hello.maxRequestPayload - 4;
        const off = this.arenaOffset(r.address, r.data.length, max);
        if (off < 0)
          return {
            kind: 'reply',
            mark: this.eventCounter,
            command: 'mem-write',
            seq,
            result: { status: Status.OUT_OF_ARENA },
          };
        if (this.dmaOwns(r.address, r.data.length)) {
          return {
            kind: 'reply',
            mark: this.eventCounter,
            command: 'mem-write',
            seq,
            result: { status: Status.BUSY },
          };
        }
        this.arena.set(r.data, off);
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'mem-write',
          seq,
          result: { status: Status.OK },
        };
      }
      case 'set-link-baud':
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'set-link-baud',
          seq,
          result: { status: Status.UNKNOWN_COMMAND },
        };
      case 'reset-peripherals':
        this.resetPeripherals();
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'reset-peripherals',
          seq,
          result: { status: Status.OK },
        };
      case 'board-status':
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'board-status',
          seq,
          result: {
            status: Status.OK,
            board: {
              resetFlags: 0,
              linkRxDropped: 0,
              linkRxErrors: 0,
              linkFallbacks: 0,
              eventsDropped: 0,
              faultPc: 0,
              faultCount: 0,
            },
          },
        };
    }
  }

  private batch(seq: number, ops: readonly BatchOp[]): Reply {
    const values: number[] = [];
    let executed = 0;
    for (const op of ops) {
      let refusal: Refusal | undefined;
      switch (op.op) {
        case 'read': {
          const v = this.readReg(op.address);
          if (typeof v === 'number') values.push(v);
          else refusal = v;
          break;
        }
        case 'write':
          refusal = this.writeReg(op.address, op.value);
          break;
        case 'masked-write': {
          const old = this.readReg(op.address);
          refusal =
            typeof old === 'number'
              ? this.writeReg(op.address, ((old & ~op.mask) | (op.value & op.mask)) >>> 0)
              : old;
          break;
        }
        case 'poll': {
          const v = this.readReg(op.address);
          if (typeof v !== 'number') refusal = v;
          else if ((v & op.mask) >>> 0 !== op.match >>> 0)
            refusal = { status: Status.POLL_TIMEOUT, lastValue: v };
          break;
        }
        case 'status': {
          if (op.channel !== 1 && op.channel !== 2) {
            refusal = { status: Status.REG_NOT_ALLOWED, address: op.channel };
            break;
          }
          const ccrAddress = op.channel === 1 ? FAKE.CCR1 : FAKE.CCR2;
          const flags = (this.reg(FAKE.DMA_ISR) >>> (4 * (op.channel - 1))) & 0xf;
          values.push(
            this.reg(ccrAddress),
            ((this.reg(ccrAddress + 4) & 0xffff) | (this.completions[op.channel - 1]! << 16)) >>> 0,
            (flags | (this.starts[op.channel - 1]! << 16)) >>> 0,
            this.usartIsr(),
          );
          break;
        }
      }
      if (refusal)
        return {
          kind: 'reply',
          mark: this.eventCounter,
          command: 'reg-batch',
          seq,
          executed,
          values,
          result: refusal,
        };
      executed++;
    }
    return {
      kind: 'reply',
      mark: this.eventCounter,
      command: 'reg-batch',
      seq,
      executed,
      values,
      result: { status: Status.OK },
    };
  }

  private allowed(address: number): boolean {
    if (address % 4 !== 0) return false;
    if (address >= FAKE.DMA_ISR && address <= FAKE.CMAR1) return true;
    if (address >= FAKE.CCR2 && address <= FAKE.CMAR2) return true;
    if (address === FAKE.C0CR || address === FAKE.C1CR) return true;
    return address >= FAKE.USART1 && address <= FAKE.USART_PRESC;
  }

  private usartIsr(): number {
    // TXE and TC: the fake transmits instantly. RXNE while bytes wait.
    const tc = this.lineIdle ? 1 << 6 : 0;
    return (0x80 | tc | (this.usartRx.length > 0 ? 1 << 5 : 0) | this.usartErrors) >>> 0;
  }

  private readReg(address: number): number | Refusal {
    if (!this.allowed(address) || WRITE_ONLY.has(address)) return { status: Status.REG_NOT_ALLOWED, address };
    if (address === FAKE.USART_ISR) return this.usartIsr();
    if (address === FAKE.USART_RDR) return this.usartRx.shift() ?? this.reg(address);
    return this.reg(address);
  }

  private writeReg(address: number, value: number): Refusal | undefined {
    if (!this.allowed(address) || READ_ONLY.has(address)) return { status: Status.REG_NOT_ALLOWED, address };
    if ((value & (REFUSED_BITS.get(address) ?? 0)) !== 0)
      return { status: Status.VALUE_NOT_ALLOWED, address };
    if ((address === FAKE.C0CR || address === FAKE.C1CR) && !DMAMUX_VALUES.has(value)) {
      return { status: Status.VALUE_NOT_ALLOWED, address };
    }
    if (address === FAKE.DMA_IFCR) {
      this.registers.set(FAKE.DMA_ISR, (this.reg(FAKE.DMA_ISR) & ~value) >>> 0);
      return undefined;
    }
    if (address === FAKE.USART_ICR) {
      this.usartErrors &= ~value & 0xf;
      return undefined;
    }
    if (address === FAKE.USART_TDR) {
      this.usartTx.push(value & 0xff);
      return undefined;
    }
    if (address === FAKE.C0CR || address === FAKE.C1CR) {
      const ccr = address === FAKE.C0CR ? FAKE.CCR1 : FAKE.CCR2;
      if (this.reg(ccr) & 1) return { status: Status.BUSY };
    }
    for (const ccr of [FAKE.CCR1, FAKE.CCR2]) {
      const configuration = address > ccr && address <= ccr + 12;
      if (configuration && this.reg(ccr) & 1) return { status: Status.BUSY };
    }
    if (address === FAKE.CCR1 || address === FAKE.CCR2) {
      if (value & 1) {
        // A write with EN = 1 to a running channel is BUSY (PROTOCOL.md §6).
        if (this.reg(address) & 1) return { status: Status.BUSY };
        const reason = this.startCheck(address, value);
        if (reason !== 0) return { status: Status.DMA_START_REFUSED, reason };
        const channel = address === FAKE.CCR1 ? 1 : 2;
        this.starts[channel - 1] = (this.starts[channel - 1]! + 1) & 0xffff;
        this.completions[channel - 1] = 0;
        this.registers.set(address, value >>> 0);
        if (this.options.dmaCompletesAtOnce ?? true) this.completeDma(address);
        return undefined;
      }
    }
    this.registers.set(address, value >>> 0);
    return undefined;
  }

  /** §6 start checks; returns the refusal reason or 0. */
  private startCheck(ccrAddress: number, ccr: number): number {
    const cndtr = this.reg(ccrAddress + 4) & 0xffff;
    const cpar = this.reg(ccrAddress + 8);
    const cmar = this.reg(ccrAddress + 12);
    const dir = (ccr >>> 4) & 1;
    const msize = (ccr >>> 10) & 3;
    const psize = (ccr >>> 8) & 3;
    const mux = this.reg(ccrAddress === FAKE.CCR1 ? FAKE.C0CR : FAKE.C1CR);
    if (ccr & (1 << 14)) return 4;
    if (ccr & (1 << 6)) return 5;
    if (msize === 3 || psize === 3 || cmar % (1 << msize) !== 0) return 6;
    if (cndtr === 0) return 7;
    if (cpar !== (dir ? FAKE.USART_TDR : FAKE.USART_RDR)) return 2;
    if (mux !== (dir ? 51 : 50)) return 3;
    const bytes = ccr & (1 << 7) ? cndtr * (1 << msize) : 1 << msize;
    if (this.arenaOffset(cmar, bytes, Number.POSITIVE_INFINITY) < 0) return 1;
    // The other channel's running range, whatever the directions (§6).
    if (this.dmaOwns(cmar, bytes)) return 9;
    return 0;
  }

  private completeDma(ccrAddress: number): void {
    const ccr = this.reg(ccrAddress);
    const cndtr = this.reg(ccrAddress + 4) & 0xffff;
    const cmar = this.reg(ccrAddress + 12);
    const off = cmar - this.hello.arenaBase;
    const minc = (ccr >>> 7) & 1;
    for (let i = 0; i < cndtr; i++) {
      if (ccr & (1 << 4)) this.usartTx.push(this.arena[off + (minc ? i : 0)]!);
      else this.arena[off + (minc ? i : 0)] = this.usartRx.shift() ?? 0;
    }
    this.registers.set(ccrAddress + 4, 0);
    const channel = ccrAddress === FAKE.CCR1 ? 1 : 2;
    if (ccr & 2) this.completions[channel - 1] = (this.completions[channel - 1]! + 1) & 0xffff;
    const tcif = 1 << (4 * (channel - 1) + 1);
    this.registers.set(FAKE.DMA_ISR, (this.reg(FAKE.DMA_ISR) | tcif | (1 << (4 * (channel - 1)))) >>> 0);
    const starts = this.starts[channel - 1]!;
    if (ccr & 2) this.emitEvent({ event: 'dma', channel, flags: 2, cndtr: 0, ccr, completions: 1, starts });
    // The fake sends at once: the line is idle when the DMA is done.
    const tcie = (this.reg(FAKE.USART_CR1) & (1 << 6)) !== 0;
    if (ccr & (1 << 4) && tcie && (this.options.lineIdleAtOnce ?? true)) this.emitUsartEvent(1 << 6);
  }

  private resetPeripherals(): void {
    this.registers.clear();
    this.usartErrors = 0;
  }

  /** Offset into the arena of [address, address + length), or -1 when outside or too long. */
  private arenaOffset(address: number, length: number, max: number): number {
    const off = address - this.hello.arenaBase;
    if (length < 1 || length > max || off < 0 || off + length > this.arena.length) return -1;
    return off;
  }

  private dmaOwns(address: number, length: number): boolean {
    for (const ccrAddress of [FAKE.CCR1, FAKE.CCR2]) {
      const ccr = this.reg(ccrAddress);
      const cndtr = this.reg(ccrAddress + 4) & 0xffff;
      if (!(ccr & 1) || (cndtr === 0 && !(ccr & (1 << 5)))) continue;
      const cmar = this.reg(ccrAddress + 12);
      const size = 1 << ((ccr >>> 10) & 3);
      const end = cmar + (ccr & (1 << 7) ? cndtr * size : size);
      if (address < end && cmar < address + length) return true;
    }
    return false;
  }
}

function refusalPayload(r: Refusal): Uint8Array {
  const out = new Uint8Array(5);
  const v = new DataView(out.buffer);
  out[0] = r.status;
  switch (r.status) {
    case Status.SEQ_GAP:
      v.setUint16(1, r.expected, true);
      return out.slice(0, 3);
    case Status.NO_SESSION:
      v.setUint32(1, r.bootEpoch, true);
      return out;
    case Status.REG_NOT_ALLOWED:
    case Status.VALUE_NOT_ALLOWED:
      v.setUint32(1, r.address, true);
      return out;
    case Status.DMA_START_REFUSED:
      out[1] = r.reason;
      return out.slice(0, 2);
    case Status.POLL_TIMEOUT:
      v.setUint32(1, r.lastValue, true);
      return out;
    default:
      return out.slice(0, 1);
  }
}
