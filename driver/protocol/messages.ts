/**
 * The messages of PROTOCOL.md as data: type codes, status codes, limits and
 * typed discriminated unions for every request, reply, NAK and event.
 * Nothing here touches bytes; encode.ts and parse.ts do.
 */

export const PROTOCOL_VERSION = 2;

/** Wire type codes (§1). A reply carries its request's code with bit 7 set. */
export const MessageType = {
  HELLO: 0x01,
  PING: 0x02,
  REG_READ: 0x03,
  REG_WRITE: 0x04,
  REG_BATCH: 0x05,
  MEM_READ: 0x06,
  MEM_WRITE: 0x07,
  RESET_PERIPHERALS: 0x08,
  SET_LINK_BAUD: 0x09,
  BOARD_STATUS: 0x0a,
  BOOT: 0x41,
  DMA: 0x42,
  USART: 0x43,
  NAK: 0xff,
} as const;

export const REPLY_BIT = 0x80;

/** Sizes fixed by §1. The live limits come from HELLO and may be smaller. */
export const Limits = {
  headerLength: 4,
  /** Replies and NAKs carry the event mark (u16) right after the header (§1, §3). */
  markLength: 2,
  crcLength: 2,
  /** header + CRC: the shortest body that is not corrupt. */
  minBody: 6,
  maxRequestPayload: 1024,
  maxReplyPayload: 264,
  maxPingData: 255,
  /** A batch reply holds at most this many values (a READ adds one, a STATUS four). */
  maxBatchReads: 64,
} as const;

export const Status = {
  OK: 0x00,
  BAD_CRC: 0x01,
  BAD_FRAME: 0x02,
  TOO_LARGE: 0x03,
  BAD_VERSION: 0x04,
  UNKNOWN_COMMAND: 0x05,
  BAD_LENGTH: 0x06,
  SEQ_GAP: 0x07,
  NO_SESSION: 0x08,
  STALE: 0x09,
  REG_NOT_ALLOWED: 0x0a,
  VALUE_NOT_ALLOWED: 0x0b,
  OUT_OF_ARENA: 0x0c,
  DMA_START_REFUSED: 0x0d,
  BUSY: 0x0e,
  POLL_TIMEOUT: 0x0f,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

/** What each status means, phrased for the person reading an error message. */
export const STATUS_DESCRIPTIONS: Readonly<Record<StatusCode, string>> = {
  [Status.OK]: 'done',
  [Status.BAD_CRC]: 'the board received a frame whose CRC did not match (line noise)',
  [Status.BAD_FRAME]: 'the board received a frame that was not valid COBS or was shorter than 6 bytes',
  [Status.TOO_LARGE]: 'the board received a frame larger than its maximum size',
  [Status.BAD_VERSION]: 'the board speaks another protocol version',
  [Status.UNKNOWN_COMMAND]: 'the board does not know this request type (firmware too old?)',
  [Status.BAD_LENGTH]:
    'the request payload had the wrong length, or a batch operation was cut short or unknown',
  [Status.SEQ_GAP]: 'the request arrived ahead of the sequence number the board expected',
  [Status.NO_SESSION]: 'the board has reset and has no session: open one with HELLO',
  [Status.STALE]: 'a retransmission older than the board keeps replies for',
  [Status.REG_NOT_ALLOWED]:
    'the address is not on the bridge allow-list, not 4-aligned, or a write to a read-only register',
  [Status.VALUE_NOT_ALLOWED]: 'the bridge refuses this value for this register',
  [Status.OUT_OF_ARENA]: 'the memory range is outside the DMA arena, empty, or too long',
  [Status.DMA_START_REFUSED]: 'a write that enables a DMA channel failed the start checks',
  [Status.BUSY]: 'the DMA is working on this memory range, or its channel is enabled',
  [Status.POLL_TIMEOUT]: 'a batch POLL did not match before its timeout',
};

const STATUS_NAMES = new Map<number, StatusName>(
  (Object.entries(Status) as [StatusName, StatusCode][]).map(([name, code]) => [code, name]),
);

export function isStatusCode(code: number): code is StatusCode {
  return STATUS_NAMES.has(code);
}

/** `BUSY (0x0e)`, or `unknown status 0x42` for a code outside the table. */
export function statusName(code: number): string {
  const name = STATUS_NAMES.get(code);
  const hex = `0x${code.toString(16).padStart(2, '0')}`;
  return name === undefined ? `unknown status ${hex}` : `${name} (${hex})`;
}

/**
 * NO_SESSION, SEQ_GAP and STALE are decided before the board looks at the
 * request, so their replies have the plain layout (status, detail) for
 * every request type, REG_BATCH included.
 */
export function isSessionRefusal(status: number): status is S['NO_SESSION'] | S['SEQ_GAP'] | S['STALE'] {
  return status === Status.NO_SESSION || status === Status.SEQ_GAP || status === Status.STALE;
}

/** Why a write setting CCR.EN was refused (§5, detail of DMA_START_REFUSED). */
export const DmaStartRefusedReason = {
  MEMORY_OUTSIDE_ARENA: 1,
  PERIPHERAL_ADDRESS: 2,
  DMAMUX_REQUEST_MISMATCH: 3,
  MEM2MEM: 4,
  PINC: 5,
  DATA_SIZE: 6,
  CNDTR_ZERO: 7,
  ENABLE_BLOCKED: 8,
  OVERLAPS_RUNNING_CHANNEL: 9,
} as const;

export type DmaStartRefusedReasonCode = (typeof DmaStartRefusedReason)[keyof typeof DmaStartRefusedReason];

export const DMA_START_REFUSED_DESCRIPTIONS: Readonly<Record<DmaStartRefusedReasonCode, string>> = {
  1: 'the memory range CMAR .. CMAR + CNDTR × size is not inside the arena',
  2: 'CPAR must be USART1_TDR for memory-to-peripheral (DIR = 1) or USART1_RDR for peripheral-to-memory (DIR = 0)',
  3: 'the channel DMAMUX request must be exactly USART1_TX (51) for DIR = 1 or USART1_RX (50) for DIR = 0',
  4: 'MEM2MEM must be 0',
  5: 'PINC must be 0 (the peripheral address stays on the USART data register)',
  6: 'MSIZE or PSIZE is the reserved value 3, or CMAR is not aligned to MSIZE',
  7: 'CNDTR is 0: set the transfer length before enabling the channel',
  8: "EN did not set: the channel's transfer error flag (TEIF) is set; clear it in DMA1_IFCR and start again",
  9: 'the memory range overlaps the range the other DMA channel is running on; stop that transfer or use other memory',
};

export function describeDmaStartRefusedReason(reason: number): string {
  return DMA_START_REFUSED_DESCRIPTIONS[reason as DmaStartRefusedReasonCode] ?? `unknown reason ${reason}`;
}

// ---------------------------------------------------------------- requests

export type BatchOp =
  | { op: 'read'; address: number }
  | { op: 'write'; address: number; value: number }
  | { op: 'masked-write'; address: number; mask: number; value: number }
  | { op: 'poll'; address: number; mask: number; match: number; timeoutUs: number }
  /**
   * A consistent snapshot of DMA channel `channel` (§2): appends four values,
   * CCR, CNDTR | completions << 16, the channel's ISR nibble, USART1_ISR.
   */
  | { op: 'status'; channel: number };

export type BatchOpName = BatchOp['op'];

export const BatchOpCode = {
  read: 0x01,
  write: 0x02,
  'masked-write': 0x03,
  poll: 0x04,
  status: 0x05,
} as const;

/** Encoded size of each batch operation, code byte included. */
export const BATCH_OP_SIZE = { read: 5, write: 9, 'masked-write': 13, poll: 15, status: 2 } as const;

/** Values each batch operation appends to the reply. */
export const BATCH_OP_VALUES = { read: 1, write: 0, 'masked-write': 0, poll: 0, status: 4 } as const;

export type Request =
  | { kind: 'request'; command: 'hello'; seq: number }
  | { kind: 'request'; command: 'ping'; seq: number; data: Uint8Array }
  | { kind: 'request'; command: 'reg-read'; seq: number; address: number }
  | { kind: 'request'; command: 'reg-write'; seq: number; address: number; value: number }
  | { kind: 'request'; command: 'reg-batch'; seq: number; ops: readonly BatchOp[] }
  | { kind: 'request'; command: 'mem-read'; seq: number; address: number; length: number }
  | { kind: 'request'; command: 'mem-write'; seq: number; address: number; data: Uint8Array }
  | { kind: 'request'; command: 'reset-peripherals'; seq: number }
  | { kind: 'request'; command: 'set-link-baud'; seq: number; baud: number }
  | { kind: 'request'; command: 'board-status'; seq: number };

export type Command = Request['command'];

/** A request without its sequence number: what the board layer hands the link. */
export type RequestBody = DistributiveOmit<Request, 'seq' | 'kind'>;

/** `Omit` applied to each member of a union separately, keeping it discriminated. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const COMMAND_TYPE: Readonly<Record<Command, number>> = {
  hello: MessageType.HELLO,
  ping: MessageType.PING,
  'reg-read': MessageType.REG_READ,
  'reg-write': MessageType.REG_WRITE,
  'reg-batch': MessageType.REG_BATCH,
  'mem-read': MessageType.MEM_READ,
  'mem-write': MessageType.MEM_WRITE,
  'reset-peripherals': MessageType.RESET_PERIPHERALS,
  'set-link-baud': MessageType.SET_LINK_BAUD,
  'board-status': MessageType.BOARD_STATUS,
};

export const TYPE_COMMAND: ReadonlyMap<number, Command> = new Map(
  (Object.entries(COMMAND_TYPE) as [Command, number][]).map(([c, t]) => [t, c]),
);

// ---------------------------------------------------------------- replies

type S = typeof Status;

/** Statuses whose refusal carries no detail. */
export type PlainRefusalStatus =
  | S['BAD_CRC']
  | S['BAD_FRAME']
  | S['TOO_LARGE']
  | S['BAD_VERSION']
  | S['UNKNOWN_COMMAND']
  | S['BAD_LENGTH']
  | S['STALE']
  | S['OUT_OF_ARENA']
  | S['BUSY'];

/** A refusal with its status-specific detail (§5). */
export type Refusal =
  | { status: PlainRefusalStatus }
  | { status: S['SEQ_GAP']; expected: number }
  | { status: S['NO_SESSION']; bootEpoch: number }
  | { status: S['REG_NOT_ALLOWED'] | S['VALUE_NOT_ALLOWED']; address: number }
  | { status: S['DMA_START_REFUSED']; reason: number }
  | { status: S['POLL_TIMEOUT']; lastValue: number };

export type Ok<T = unknown> = { status: S['OK'] } & T;

/** Narrow with `result.status === Status.OK`. */
export type ReplyResult<T> = Ok<T> | Refusal;

export interface FirmwareVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The HELLO reply body (§2), field for field. */
export interface HelloInfo {
  protocolVersion: number;
  firmwareVersion: FirmwareVersion;
  devId: number;
  revId: number;
  uid: Uint8Array;
  arenaBase: number;
  arenaSize: number;
  maxRequestPayload: number;
  maxReplyPayload: number;
  window: number;
  capabilities: number;
  bootEpoch: number;
  usart1ClockHz: number;
  /** The host link's rate now. */
  linkBaud: number;
  /**
   * Bytes of request frames (encoded, delimiters included) the host may have
   * sent and not seen answered: the board's receive buffer. Absent from
   * boards that do not say (then the window alone limits the host).
   */
  rxBuffer?: number;
  /** The rate the board boots at and falls back to. */
  bootLinkBaud?: number;
  /** The rates SET_LINK_BAUD accepts, ascending (empty when it does not). */
  linkRates: number[];
}

/** BOARD_STATUS's reply (PROTOCOL.md §2): the board's health since it booted. */
export interface BoardStatus {
  /** RCC_CSR's reset flags [31:25] as found at boot: why the board last reset. */
  resetFlags: number;
  /** Host-link bytes the board lost: its receive ring lapped, or USART2 overran. */
  linkRxDropped: number;
  /** Host-link characters received with framing, noise or parity errors. */
  linkRxErrors: number;
  /** Times the host link went back to its boot rate. */
  linkFallbacks: number;
  /** Events dropped because the event queue was full. */
  eventsDropped: number;
  /** PC of the last HardFault before this boot (0: none). */
  faultPc: number;
  /** HardFaults since power-up. */
  faultCount: number;
  /**
   * Request frames the board dropped: refused with a NAK as damaged, or cut
   * off by a rate switch (absent from a board that does not report it).
   */
  linkFramesDropped?: number;
}

/** BOARD_STATUS's reply fields, in wire order (u32 each). */
export const BOARD_STATUS_FIELDS = [
  'resetFlags',
  'linkRxDropped',
  'linkRxErrors',
  'linkFallbacks',
  'eventsDropped',
  'faultPc',
  'faultCount',
] as const satisfies readonly (keyof BoardStatus)[];

/** HELLO capability bits. */
export const Capability = {
  DMA1_CH1_USART1: 1 << 0,
  DMA1_CH2_FULL_DUPLEX: 1 << 1,
  BATCH_POLL: 1 << 2,
  EVENTS: 1 << 3,
  SET_LINK_BAUD: 1 << 4,
  BOARD_STATUS: 1 << 5,
} as const;

export const HELLO_BODY_LENGTH = 49;

/**
 * Every reply and NAK carries the board's event mark (§3): the counter of
 * the oldest event not yet sent when the reply was first sent. Every event
 * with a lower counter went out before the reply (or was dropped), so one
 * the host has not seen by then is lost.
 */
interface ReplyBase {
  kind: 'reply';
  seq: number;
  mark: number;
}

export type Reply =
  | (ReplyBase & { command: 'hello'; result: ReplyResult<{ hello: HelloInfo }> })
  | (ReplyBase & { command: 'ping'; result: ReplyResult<{ data: Uint8Array }> })
  | (ReplyBase & { command: 'reg-read'; result: ReplyResult<{ value: number }> })
  | (ReplyBase & { command: 'reg-write'; result: ReplyResult<object> })
  | (ReplyBase & {
      command: 'reg-batch';
      /**
       * Operations that completed; on failure the op at this index failed.
       * 0, with no values, for a session refusal (NO_SESSION, SEQ_GAP, STALE).
       */
      executed: number;
      /** Values of the READ and STATUS operations that completed, in order. */
      values: number[];
      result: ReplyResult<object>;
    })
  | (ReplyBase & { command: 'mem-read'; result: ReplyResult<{ data: Uint8Array }> })
  | (ReplyBase & { command: 'mem-write'; result: ReplyResult<object> })
  | (ReplyBase & { command: 'reset-peripherals'; result: ReplyResult<object> })
  | (ReplyBase & { command: 'set-link-baud'; result: ReplyResult<object> })
  | (ReplyBase & { command: 'board-status'; result: ReplyResult<{ board: BoardStatus }> });

/** Reply to a given command, e.g. `ReplyTo<'reg-read'>`. */
export type ReplyTo<C extends Command> = Extract<Reply, { command: C }>;

/** A frame-level refusal; `seq` is read from a damaged frame, so only a hint. */
export interface Nak {
  kind: 'nak';
  seq: number;
  /** The event mark, as in a reply. */
  mark: number;
  status: StatusCode;
}

// ---------------------------------------------------------------- events

/** DMA event flag bits (the DMA1_ISR nibble layout). */
export const DmaEventFlag = { TC: 1 << 1, HT: 1 << 2, TE: 1 << 3 } as const;
/** USART event flag bits (USART_ISR positions). */
export const UsartEventFlag = {
  PE: 1 << 0,
  FE: 1 << 1,
  NE: 1 << 2,
  ORE: 1 << 3,
  IDLE: 1 << 4,
  TC: 1 << 6,
} as const;

export type BoardEvent =
  | { kind: 'event'; event: 'boot'; counter: number; bootEpoch: number; firmwareVersion: FirmwareVersion }
  | {
      kind: 'event';
      event: 'dma';
      counter: number;
      channel: number;
      flags: number;
      cndtr: number;
      ccr: number;
      /** HT and TC completions of the channel since the write that last enabled it (mod 2^16), dropped events included. */
      completions: number;
      /** The channel's count of starts (EN 0 → 1, from a base drawn at boot) when the event was raised: the transfer it belongs to (mod 2^16). */
      starts: number;
    }
  | {
      kind: 'event';
      event: 'usart';
      counter: number;
      flags: number;
      isr: number;
      cndtr1: number;
      cndtr2: number;
      /**
       * DMA1 channel 1's and channel 2's counts of starts when the event was
       * raised: the transfers it belongs to (mod 2^16). Firmware 2.4 and
       * later; an older board's event ends before them (both absent).
       */
      starts1?: number;
      starts2?: number;
    };

export type EventName = BoardEvent['event'];

export type Message = Request | Reply | Nak | BoardEvent;

// ---------------------------------------------------------------- decode outcomes

/** A frame the decoder had to drop before it could read a message from it. */
export interface CorruptFrame {
  kind: 'corrupt';
  /** `cut`: the line went quiet before the frame's delimiter (see FrameDecoder.abandonPartial). */
  reason: 'crc' | 'cobs' | 'short' | 'too-large' | 'cut';
  /** Encoded length of the dropped frame (bytes before its delimiter). */
  length: number;
  /**
   * The seq read from a frame whose CRC failed (so only a hint, as a NAK's
   * is): lets a board name the frame it refuses.
   */
  seqHint?: number;
}

/** A frame with a good CRC that does not hold a message this codec knows. */
export interface InvalidMessage {
  kind: 'invalid';
  reason: 'version' | 'unknown-type' | 'malformed';
  version: number;
  type: number;
  seq: number;
  detail: string;
}

export type Decoded = Message | CorruptFrame | InvalidMessage;
