/**
 * fast-check arbitraries for every protocol message, shared by the codec's
 * property tests and the fakes that need random but valid traffic.
 */

import fc from 'fast-check';
import {
  type BatchOp,
  type BoardEvent,
  type HelloInfo,
  isSessionRefusal,
  Limits,
  type Message,
  type Nak,
  type Refusal,
  type Reply,
  type Request,
  Status,
} from '../protocol/index.ts';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const bytes = (max: number, min = 0) => fc.uint8Array({ minLength: min, maxLength: max });

export const arbBatchOp: fc.Arbitrary<BatchOp> = fc.oneof(
  fc.record({ op: fc.constant('read' as const), address: u32 }),
  fc.record({ op: fc.constant('write' as const), address: u32, value: u32 }),
  fc.record({ op: fc.constant('masked-write' as const), address: u32, mask: u32, value: u32 }),
  fc.record({ op: fc.constant('poll' as const), address: u32, mask: u32, match: u32, timeoutUs: u16 }),
  fc.record({ op: fc.constant('status' as const), channel: u8 }),
);

export const arbRequest: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ kind: fc.constant('request' as const), command: fc.constant('hello' as const), seq: u16 }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('ping' as const),
    seq: u16,
    data: bytes(Limits.maxPingData),
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('reg-read' as const),
    seq: u16,
    address: u32,
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('reg-write' as const),
    seq: u16,
    address: u32,
    value: u32,
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('reg-batch' as const),
    seq: u16,
    // 68 POLLs × 15 bytes = 1020: the longest batch that fits a request.
    ops: fc.array(arbBatchOp, { maxLength: 68 }),
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('mem-read' as const),
    seq: u16,
    address: u32,
    length: u16,
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('mem-write' as const),
    seq: u16,
    address: u32,
    data: bytes(Limits.maxRequestPayload - 4),
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('reset-peripherals' as const),
    seq: u16,
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('set-link-baud' as const),
    seq: u16,
    baud: u32,
  }),
  fc.record({
    kind: fc.constant('request' as const),
    command: fc.constant('board-status' as const),
    seq: u16,
  }),
);

export const arbRefusal: fc.Arbitrary<Refusal> = fc.oneof(
  fc.record({
    status: fc.constantFrom(
      Status.BAD_CRC,
      Status.BAD_FRAME,
      Status.TOO_LARGE,
      Status.BAD_VERSION,
      Status.UNKNOWN_COMMAND,
      Status.BAD_LENGTH,
      Status.STALE,
      Status.OUT_OF_ARENA,
      Status.BUSY,
    ),
  }),
  fc.record({ status: fc.constant(Status.SEQ_GAP), expected: u16 }),
  fc.record({ status: fc.constant(Status.NO_SESSION), bootEpoch: u32 }),
  fc.record({ status: fc.constantFrom(Status.REG_NOT_ALLOWED, Status.VALUE_NOT_ALLOWED), address: u32 }),
  fc.record({ status: fc.constant(Status.DMA_START_REFUSED), reason: u8 }),
  fc.record({ status: fc.constant(Status.POLL_TIMEOUT), lastValue: u32 }),
);

export const arbHello: fc.Arbitrary<HelloInfo> = fc.record({
  protocolVersion: u8,
  firmwareVersion: fc.record({ major: u8, minor: u8, patch: u8 }),
  devId: u16,
  revId: u16,
  uid: bytes(12, 12),
  arenaBase: u32,
  arenaSize: u32,
  maxRequestPayload: u16,
  maxReplyPayload: u16,
  window: u8,
  capabilities: u32,
  bootEpoch: u32,
  usart1ClockHz: u32,
  linkBaud: u32,
  rxBuffer: u16,
  bootLinkBaud: u32,
  linkRates: fc.array(u32, { maxLength: 8 }),
});

const ok = fc.constant(Status.OK);
const replyOf = <C extends Reply['command'], T>(command: C, body: fc.Arbitrary<T>) =>
  fc.record({
    kind: fc.constant('reply' as const),
    command: fc.constant(command),
    seq: u16,
    mark: u16,
    result: fc.oneof(
      body.map((b) => ({ status: Status.OK, ...b })),
      arbRefusal,
    ),
  }) as unknown as fc.Arbitrary<Reply>; // the generic C cannot tie `result` to its command for the checker

export const arbReply: fc.Arbitrary<Reply> = fc.oneof(
  replyOf('hello', fc.record({ hello: arbHello })),
  replyOf('ping', fc.record({ data: bytes(Limits.maxPingData) })),
  replyOf('reg-read', fc.record({ value: u32 })),
  replyOf('reg-write', fc.constant({})),
  fc
    .record({
      kind: fc.constant('reply' as const),
      command: fc.constant('reg-batch' as const),
      seq: u16,
      mark: u16,
      executed: u8,
      values: fc.array(u32, { maxLength: Limits.maxBatchReads }),
      result: fc.oneof(fc.record({ status: ok }), arbRefusal),
    })
    .map((r) =>
      // A session refusal carries no executed count or values on the wire.
      isSessionRefusal(r.result.status) ? { ...r, executed: 0, values: [] } : r,
    ),
  replyOf('mem-read', fc.record({ data: bytes(Limits.maxReplyPayload - 8) })),
  replyOf('mem-write', fc.constant({})),
  replyOf('reset-peripherals', fc.constant({})),
  replyOf('set-link-baud', fc.constant({})),
  replyOf(
    'board-status',
    fc.record({
      board: fc.record(
        {
          resetFlags: u32,
          linkRxDropped: u32,
          linkRxErrors: u32,
          linkFallbacks: u32,
          eventsDropped: u32,
          faultPc: u32,
          faultCount: u32,
          linkFramesDropped: u32,
        },
        {
          requiredKeys: [
            'resetFlags',
            'linkRxDropped',
            'linkRxErrors',
            'linkFallbacks',
            'eventsDropped',
            'faultPc',
            'faultCount',
          ],
        },
      ),
    }),
  ),
);

export const arbNak: fc.Arbitrary<Nak> = fc.record({
  kind: fc.constant('nak' as const),
  seq: u16,
  mark: u16,
  status: fc.constantFrom(Status.BAD_CRC, Status.BAD_FRAME, Status.TOO_LARGE, Status.BAD_VERSION),
});

export const arbEvent: fc.Arbitrary<BoardEvent> = fc.oneof(
  fc.record({
    kind: fc.constant('event' as const),
    event: fc.constant('boot' as const),
    counter: u16,
    bootEpoch: u32,
    firmwareVersion: fc.record({ major: u8, minor: u8, patch: u8 }),
  }),
  fc.record({
    kind: fc.constant('event' as const),
    event: fc.constant('dma' as const),
    counter: u16,
    channel: u8,
    flags: u8,
    cndtr: u16,
    completions: u16,
    starts: u16,
    ccr: u32,
  }),
  fc.record({
    kind: fc.constant('event' as const),
    event: fc.constant('usart' as const),
    counter: u16,
    flags: u8,
    isr: u32,
    cndtr1: u16,
    cndtr2: u16,
  }),
  // Firmware 2.4 and later: the channels' starts follow.
  fc.record({
    kind: fc.constant('event' as const),
    event: fc.constant('usart' as const),
    counter: u16,
    flags: u8,
    isr: u32,
    cndtr1: u16,
    cndtr2: u16,
    starts1: u16,
    starts2: u16,
  }),
);

export const arbMessage: fc.Arbitrary<Message> = fc.oneof(arbRequest, arbReply, arbNak, arbEvent);
