/**
 * A CRC-checked body → a typed message, or an `InvalidMessage` value that
 * says what was wrong. Never throws: the link decides what a bad message
 * costs, not the codec.
 */

import {
  type BatchOp,
  BOARD_STATUS_FIELDS,
  type BoardEvent,
  type BoardStatus,
  type Command,
  HELLO_BODY_LENGTH,
  type HelloInfo,
  type InvalidMessage,
  isSessionRefusal,
  isStatusCode,
  Limits,
  type Message,
  MessageType,
  PROTOCOL_VERSION,
  REPLY_BIT,
  type Refusal,
  type Reply,
  type Request,
  Status,
  type StatusCode,
  TYPE_COMMAND,
} from './messages.ts';

/** Thrown only inside this module and turned into an `InvalidMessage`. */
class Malformed {
  constructor(readonly detail: string) {}
}

/**
 * Parses `body[0, end)`: the header and payload, CRC already checked and
 * stripped. Byte arrays in the result are copies, so `body` may be reused.
 */
export function parseBody(body: Uint8Array, end: number): Message | InvalidMessage {
  const view = new DataView(body.buffer, body.byteOffset, end);
  const version = view.getUint8(0);
  const type = view.getUint8(1);
  const seq = view.getUint16(2, true);
  const invalid = (reason: InvalidMessage['reason'], detail: string): InvalidMessage => ({
    kind: 'invalid',
    reason,
    version,
    type,
    seq,
    detail,
  });
  if (version !== PROTOCOL_VERSION) {
    return invalid('version', `protocol version ${version}, this driver speaks ${PROTOCOL_VERSION}`);
  }
  const p = new Reader(body, view, Limits.headerLength, end);
  try {
    if (type === MessageType.BOOT || type === MessageType.DMA || type === MessageType.USART) {
      return parseEvent(type, seq, p);
    }
    if (type === MessageType.NAK) {
      const mark = p.u16('event mark');
      const status = p.status();
      p.done();
      return { kind: 'nak', seq, mark, status };
    }
    const command = TYPE_COMMAND.get(type & ~REPLY_BIT);
    if (command === undefined) {
      return invalid('unknown-type', `unknown message type 0x${type.toString(16).padStart(2, '0')}`);
    }
    return type & REPLY_BIT
      ? parseReply(command, seq, p.u16('event mark'), p)
      : parseRequest(command, seq, p);
  } catch (e) {
    if (e instanceof Malformed) return invalid('malformed', e.detail);
    throw e;
  }
}

/** A bounds-checked cursor over the payload. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    private readonly view: DataView,
    private offset: number,
    private readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.offset;
  }

  private take(n: number, what: string): number {
    if (this.offset + n > this.end) {
      throw new Malformed(`payload ends before ${what} (${this.remaining} bytes left, ${n} needed)`);
    }
    const at = this.offset;
    this.offset += n;
    return at;
  }

  u8(what: string): number {
    return this.view.getUint8(this.take(1, what));
  }

  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }

  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }

  bytesCopy(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.bytes.slice(at, at + n);
  }

  /** Passes over what is left (fields a later firmware appends). */
  skipRest(): void {
    this.offset = this.end;
  }

  rest(): Uint8Array {
    return this.bytesCopy(this.remaining, 'data');
  }

  status(): StatusCode {
    const s = this.u8('status');
    if (!isStatusCode(s)) throw new Malformed(`unknown status 0x${s.toString(16).padStart(2, '0')}`);
    return s;
  }

  done(): void {
    if (this.remaining !== 0) throw new Malformed(`${this.remaining} unexpected trailing bytes`);
  }
}

function parseRequest(command: Command, seq: number, p: Reader): Request {
  let r: Request;
  switch (command) {
    case 'hello':
    case 'reset-peripherals':
    case 'board-status':
      r = { kind: 'request', command, seq };
      break;
    case 'ping':
      if (p.remaining > Limits.maxPingData) throw new Malformed(`PING longer than ${Limits.maxPingData}`);
      r = { kind: 'request', command, seq, data: p.rest() };
      break;
    case 'reg-read':
      r = { kind: 'request', command, seq, address: p.u32('address') };
      break;
    case 'reg-write':
      r = { kind: 'request', command, seq, address: p.u32('address'), value: p.u32('value') };
      break;
    case 'reg-batch': {
      const ops: BatchOp[] = [];
      while (p.remaining > 0) ops.push(parseBatchOp(p));
      r = { kind: 'request', command, seq, ops };
      break;
    }
    case 'mem-read':
      r = { kind: 'request', command, seq, address: p.u32('address'), length: p.u16('length') };
      break;
    case 'mem-write': {
      const address = p.u32('address');
      r = { kind: 'request', command, seq, address, data: p.rest() };
      break;
    }
    case 'set-link-baud':
      r = { kind: 'request', command, seq, baud: p.u32('baud') };
      break;
  }
  p.done();
  return r;
}

function parseBatchOp(p: Reader): BatchOp {
  const code = p.u8('batch op code');
  if (code === 0x05) return { op: 'status', channel: p.u8('channel') };
  const address = p.u32('batch op address');
  switch (code) {
    case 0x01:
      return { op: 'read', address };
    case 0x02:
      return { op: 'write', address, value: p.u32('value') };
    case 0x03:
      return { op: 'masked-write', address, mask: p.u32('mask'), value: p.u32('value') };
    case 0x04:
      return {
        op: 'poll',
        address,
        mask: p.u32('mask'),
        match: p.u32('match'),
        timeoutUs: p.u16('timeoutUs'),
      };
    default:
      throw new Malformed(`unknown batch op 0x${code.toString(16).padStart(2, '0')}`);
  }
}

function parseRefusal(status: Exclude<StatusCode, typeof Status.OK>, p: Reader): Refusal {
  switch (status) {
    case Status.SEQ_GAP:
      return { status, expected: p.u16('expected') };
    case Status.NO_SESSION:
      return { status, bootEpoch: p.u32('bootEpoch') };
    case Status.REG_NOT_ALLOWED:
    case Status.VALUE_NOT_ALLOWED:
      return { status, address: p.u32('address') };
    case Status.DMA_START_REFUSED:
      return { status, reason: p.u8('reason') };
    case Status.POLL_TIMEOUT:
      return { status, lastValue: p.u32('last value') };
    default:
      return { status };
  }
}

function parseReply(command: Command, seq: number, mark: number, p: Reader): Reply {
  if (command === 'reg-batch') {
    const status = p.status();
    if (isSessionRefusal(status)) {
      // Session refusals come before the request is looked at, so they use
      // the plain layout even for REG_BATCH (PROTOCOL.md §2).
      const result = parseRefusal(status, p);
      p.done();
      return { kind: 'reply', command, seq, mark, executed: 0, values: [], result };
    }
    const executed = p.u8('executed');
    const count = p.u8('count');
    const values: number[] = new Array(count);
    for (let i = 0; i < count; i++) values[i] = p.u32('value');
    const result = status === Status.OK ? { status } : parseRefusal(status, p);
    p.done();
    return { kind: 'reply', command, seq, mark, executed, values, result };
  }
  const status = p.status();
  if (status !== Status.OK) {
    const result = parseRefusal(status, p);
    p.done();
    return { kind: 'reply', command, seq, mark, result };
  }
  let reply: Reply;
  switch (command) {
    case 'hello':
      reply = { kind: 'reply', command, seq, mark, result: { status, hello: parseHello(p) } };
      break;
    case 'ping':
    case 'mem-read':
      reply = { kind: 'reply', command, seq, mark, result: { status, data: p.rest() } };
      break;
    case 'reg-read':
      reply = { kind: 'reply', command, seq, mark, result: { status, value: p.u32('value') } };
      break;
    case 'board-status': {
      const board = {} as BoardStatus;
      for (const field of BOARD_STATUS_FIELDS) board[field] = p.u32(field);
      if (p.remaining >= 4) board.linkFramesDropped = p.u32('linkFramesDropped');
      // Fields a newer board appends are skipped (PROTOCOL.md §10).
      p.rest();
      reply = { kind: 'reply', command, seq, mark, result: { status, board } };
      break;
    }
    default:
      reply = { kind: 'reply', command, seq, mark, result: { status } };
  }
  p.done();
  return reply;
}

function parseHello(p: Reader): HelloInfo {
  if (p.remaining < HELLO_BODY_LENGTH) {
    throw new Malformed(`HELLO reply body is ${p.remaining} bytes, expected ${HELLO_BODY_LENGTH}`);
  }
  const hello: HelloInfo = {
    protocolVersion: p.u8('protocolVersion'),
    firmwareVersion: { major: p.u8('major'), minor: p.u8('minor'), patch: p.u8('patch') },
    devId: p.u16('devId'),
    revId: p.u16('revId'),
    uid: p.bytesCopy(12, 'uid'),
    arenaBase: p.u32('arenaBase'),
    arenaSize: p.u32('arenaSize'),
    maxRequestPayload: p.u16('maxRequestPayload'),
    maxReplyPayload: p.u16('maxReplyPayload'),
    window: p.u8('window'),
    capabilities: p.u32('capabilities'),
    bootEpoch: p.u32('bootEpoch'),
    usart1ClockHz: p.u32('usart1ClockHz'),
    linkBaud: p.u32('linkBaud'),
    linkRates: [],
  };
  // Appended in version 2: the receive buffer, the boot rate and the rates.
  if (p.remaining >= 7) {
    hello.rxBuffer = p.u16('rxBuffer');
    hello.bootLinkBaud = p.u32('bootLinkBaud');
    const count = p.u8('rateCount');
    for (let i = 0; i < count; i++) hello.linkRates.push(p.u32('rate'));
  }
  // Fields a later firmware appends are skipped, so this driver can still
  // open a session with it.
  p.rest();
  return hello;
}

function parseEvent(type: number, counter: number, p: Reader): BoardEvent {
  let e: BoardEvent;
  if (type === MessageType.BOOT) {
    e = {
      kind: 'event',
      event: 'boot',
      counter,
      bootEpoch: p.u32('bootEpoch'),
      firmwareVersion: { major: p.u8('major'), minor: p.u8('minor'), patch: p.u8('patch') },
    };
  } else if (type === MessageType.DMA) {
    e = {
      kind: 'event',
      event: 'dma',
      counter,
      channel: p.u8('channel'),
      flags: p.u8('flags'),
      cndtr: p.u16('cndtr'),
      ccr: p.u32('ccr'),
      completions: p.u16('completions'),
      starts: p.u16('starts'),
    };
  } else {
    e = {
      kind: 'event',
      event: 'usart',
      counter,
      flags: p.u8('flags'),
      isr: p.u32('isr'),
      cndtr1: p.u16('cndtr1'),
      cndtr2: p.u16('cndtr2'),
    };
    // Firmware 2.4 and later name the channels' starts; an older board's event ends here.
    if (p.remaining > 0) {
      e.starts1 = p.u16('starts1');
      e.starts2 = p.u16('starts2');
    }
  }
  // Fields a later firmware appends to an event are skipped (PROTOCOL.md §10).
  p.skipRest();
  return e;
}
