/**
 * Message → wire bytes: header, payload, CRC (little-endian), COBS, 0x00.
 *
 * The body is assembled in one module-level scratch buffer and the frame
 * COBS-encoded into another; the only allocation per frame is the returned
 * copy, which the caller hands to a transport that may keep it.
 */

import { DriverError } from '../driver-error.ts';
import { cobsEncode, cobsMaxEncodedLength } from './cobs.ts';
import { crc16 } from './crc16.ts';
import {
  BATCH_OP_SIZE,
  BatchOpCode,
  BOARD_STATUS_FIELDS,
  COMMAND_TYPE,
  HELLO_BODY_LENGTH,
  type HelloInfo,
  isSessionRefusal,
  Limits,
  type Message,
  MessageType,
  PROTOCOL_VERSION,
  REPLY_BIT,
  type Refusal,
  Status,
} from './messages.ts';

/** A message that cannot be put on the wire as given: a bug in the caller. */
export class EncodeError extends DriverError {
  override name = 'EncodeError';
}

/** The largest payload either side may send (a request's, §1). */
const MAX_PAYLOAD = Limits.maxRequestPayload;
const MAX_BODY = Limits.headerLength + Limits.markLength + MAX_PAYLOAD + Limits.crcLength;

const bodyScratch = new Uint8Array(MAX_BODY);
const bodyView = new DataView(bodyScratch.buffer);
const wireScratch = new Uint8Array(cobsMaxEncodedLength(MAX_BODY) + 1);

/** Encodes any message (requests, replies, NAKs, events) into one delimited frame. */
export function encodeMessage(message: Message): Uint8Array {
  const payloadEnd = writeBody(message);
  bodyView.setUint16(payloadEnd, crc16(bodyScratch, 0, payloadEnd), true);
  const n = cobsEncode(bodyScratch, 0, payloadEnd + Limits.crcLength, wireScratch, 0);
  wireScratch[n] = 0;
  return wireScratch.slice(0, n + 1);
}

/**
 * Frames an arbitrary payload with an arbitrary version and type: for
 * tests and fakes that must produce frames a well-behaved encoder would
 * refuse (wrong version, unknown type, oversized payload).
 */
export function encodeRawFrame(version: number, type: number, seq: number, payload: Uint8Array): Uint8Array {
  const body = new Uint8Array(Limits.headerLength + payload.length + Limits.crcLength);
  const view = new DataView(body.buffer);
  view.setUint8(0, version);
  view.setUint8(1, type);
  view.setUint16(2, seq, true);
  body.set(payload, Limits.headerLength);
  const end = Limits.headerLength + payload.length;
  view.setUint16(end, crc16(body, 0, end), true);
  const wire = new Uint8Array(cobsMaxEncodedLength(body.length) + 1);
  const n = cobsEncode(body, 0, body.length, wire, 0);
  wire[n] = 0;
  return wire.slice(0, n + 1);
}

/** Where the payload of the message being written starts (after the mark, for replies). */
let payloadStart: number = Limits.headerLength;

function checkRoom(offset: number, extra: number, what: string): void {
  if (offset + extra > payloadStart + MAX_PAYLOAD) {
    throw new EncodeError(
      `${what}: payload would exceed ${MAX_PAYLOAD} bytes; split the work into smaller requests`,
    );
  }
}

function u8(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`${field} must be a u8, got ${v}`);
  return v;
}

function u16(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new EncodeError(`${field} must be a u16, got ${v}`);
  return v;
}

function u32(v: number, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new EncodeError(`${field} must be a u32, got ${v}`);
  }
  return v;
}

function putBytes(offset: number, data: Uint8Array, what: string): number {
  checkRoom(offset, data.length, what);
  bodyScratch.set(data, offset);
  return offset + data.length;
}

function typeAndSeq(m: Message): [number, number] {
  switch (m.kind) {
    case 'request':
      return [COMMAND_TYPE[m.command], m.seq];
    case 'reply':
      return [COMMAND_TYPE[m.command] | REPLY_BIT, m.seq];
    case 'nak':
      return [MessageType.NAK, m.seq];
    case 'event':
      return [
        m.event === 'boot' ? MessageType.BOOT : m.event === 'dma' ? MessageType.DMA : MessageType.USART,
        m.counter,
      ];
  }
}

/** Writes header and payload into the scratch body; returns the payload's end. */
function writeBody(m: Message): number {
  const [type, seq] = typeAndSeq(m);
  const v = bodyView;
  v.setUint8(0, PROTOCOL_VERSION);
  v.setUint8(1, type);
  v.setUint16(2, u16(seq, 'seq'), true);
  let o = Limits.headerLength;
  if (m.kind === 'reply' || m.kind === 'nak') {
    v.setUint16(o, u16(m.mark, 'mark'), true);
    o += Limits.markLength;
  }
  payloadStart = o;
  switch (m.kind) {
    case 'request':
      return writeRequest(o, m);
    case 'reply':
      return writeReply(o, m);
    case 'nak':
      v.setUint8(o, m.status);
      return o + 1;
    case 'event':
      return writeEvent(o, m);
  }
}

function writeRequest(start: number, m: Extract<Message, { kind: 'request' }>): number {
  const v = bodyView;
  let o = start;
  switch (m.command) {
    case 'hello':
    case 'reset-peripherals':
    case 'board-status':
      return o;
    case 'ping':
      if (m.data.length > Limits.maxPingData) {
        throw new EncodeError(`PING carries at most ${Limits.maxPingData} bytes, got ${m.data.length}`);
      }
      return putBytes(o, m.data, 'PING');
    case 'reg-read':
      v.setUint32(o, u32(m.address, 'address'), true);
      return o + 4;
    case 'reg-write':
      v.setUint32(o, u32(m.address, 'address'), true);
      v.setUint32(o + 4, u32(m.value, 'value'), true);
      return o + 8;
    case 'reg-batch':
      for (const op of m.ops) {
        const size: number | undefined = BATCH_OP_SIZE[op.op];
        if (size === undefined) {
          throw new EncodeError(`unknown batch operation ${JSON.stringify((op as { op: unknown }).op)}`);
        }
        checkRoom(o, size, 'REG_BATCH');
        v.setUint8(o, BatchOpCode[op.op]);
        if (op.op === 'status') {
          v.setUint8(o + 1, u8(op.channel, 'channel'));
          o += size;
          continue;
        }
        v.setUint32(o + 1, u32(op.address, 'address'), true);
        switch (op.op) {
          case 'read':
            break;
          case 'write':
            v.setUint32(o + 5, u32(op.value, 'value'), true);
            break;
          case 'masked-write':
            v.setUint32(o + 5, u32(op.mask, 'mask'), true);
            v.setUint32(o + 9, u32(op.value, 'value'), true);
            break;
          case 'poll':
            v.setUint32(o + 5, u32(op.mask, 'mask'), true);
            v.setUint32(o + 9, u32(op.match, 'match'), true);
            v.setUint16(o + 13, u16(op.timeoutUs, 'timeoutUs'), true);
            break;
        }
        o += BATCH_OP_SIZE[op.op];
      }
      return o;
    case 'mem-read':
      v.setUint32(o, u32(m.address, 'address'), true);
      v.setUint16(o + 4, u16(m.length, 'length'), true);
      return o + 6;
    case 'mem-write':
      v.setUint32(o, u32(m.address, 'address'), true);
      return putBytes(o + 4, m.data, 'MEM_WRITE');
    case 'set-link-baud':
      v.setUint32(o, u32(m.baud, 'baud'), true);
      return o + 4;
  }
}

function writeReply(start: number, m: Extract<Message, { kind: 'reply' }>): number {
  const v = bodyView;
  let o = start;
  switch (m.command) {
    case 'reg-batch': {
      if (m.result.status !== Status.OK && isSessionRefusal(m.result.status))
        return writeRefusal(o, m.result);
      checkRoom(o, 3 + 4 * m.values.length, 'REG_BATCH reply');
      v.setUint8(o, m.result.status);
      v.setUint8(o + 1, u8(m.executed, 'executed'));
      v.setUint8(o + 2, u8(m.values.length, 'count'));
      o += 3;
      for (const value of m.values) {
        v.setUint32(o, u32(value, 'value'), true);
        o += 4;
      }
      return m.result.status === Status.OK ? o : writeDetail(o, m.result);
    }
    case 'hello': {
      const r = m.result;
      return r.status === Status.OK ? writeHello(okAt(o), r.hello) : writeRefusal(o, r);
    }
    case 'ping':
    case 'mem-read': {
      const r = m.result;
      return r.status === Status.OK ? putBytes(okAt(o), r.data, m.command) : writeRefusal(o, r);
    }
    case 'reg-read': {
      const r = m.result;
      if (r.status !== Status.OK) return writeRefusal(o, r);
      v.setUint32(okAt(o), u32(r.value, 'value'), true);
      return o + 5;
    }
    case 'board-status': {
      const r = m.result;
      if (r.status !== Status.OK) return writeRefusal(o, r);
      const dropped = r.board.linkFramesDropped;
      checkRoom(
        o,
        1 + 4 * (BOARD_STATUS_FIELDS.length + (dropped === undefined ? 0 : 1)),
        'BOARD_STATUS reply',
      );
      o = okAt(o);
      for (const field of BOARD_STATUS_FIELDS) {
        v.setUint32(o, u32(r.board[field], field), true);
        o += 4;
      }
      if (dropped !== undefined) {
        v.setUint32(o, u32(dropped, 'linkFramesDropped'), true);
        o += 4;
      }
      return o;
    }
    default: {
      const r = m.result;
      return r.status === Status.OK ? okAt(o) : writeRefusal(o, r);
    }
  }
}

function writeEvent(o: number, m: Extract<Message, { kind: 'event' }>): number {
  const v = bodyView;
  switch (m.event) {
    case 'boot':
      v.setUint32(o, u32(m.bootEpoch, 'bootEpoch'), true);
      v.setUint8(o + 4, u8(m.firmwareVersion.major, 'major'));
      v.setUint8(o + 5, u8(m.firmwareVersion.minor, 'minor'));
      v.setUint8(o + 6, u8(m.firmwareVersion.patch, 'patch'));
      return o + 7;
    case 'dma':
      v.setUint8(o, u8(m.channel, 'channel'));
      v.setUint8(o + 1, u8(m.flags, 'flags'));
      v.setUint16(o + 2, u16(m.cndtr, 'cndtr'), true);
      v.setUint32(o + 4, u32(m.ccr, 'ccr'), true);
      v.setUint16(o + 8, u16(m.completions, 'completions'), true);
      v.setUint16(o + 10, u16(m.starts, 'starts'), true);
      return o + 12;
    case 'usart':
      v.setUint8(o, u8(m.flags, 'flags'));
      v.setUint32(o + 1, u32(m.isr, 'isr'), true);
      v.setUint16(o + 5, u16(m.cndtr1, 'cndtr1'), true);
      v.setUint16(o + 7, u16(m.cndtr2, 'cndtr2'), true);
      // An event of firmware before 2.4 carries no start numbers.
      if (m.starts1 === undefined && m.starts2 === undefined) return o + 9;
      if (m.starts1 === undefined || m.starts2 === undefined) {
        throw new EncodeError("a USART event names both channels' starts or neither");
      }
      v.setUint16(o + 9, u16(m.starts1, 'starts1'), true);
      v.setUint16(o + 11, u16(m.starts2, 'starts2'), true);
      return o + 13;
  }
}

/** Writes the OK status byte; returns where the reply body starts. */
function okAt(o: number): number {
  bodyView.setUint8(o, Status.OK);
  return o + 1;
}

function writeRefusal(o: number, r: Refusal): number {
  bodyView.setUint8(o, r.status);
  return writeDetail(o + 1, r);
}

function writeDetail(o: number, r: Refusal): number {
  const v = bodyView;
  switch (r.status) {
    case Status.SEQ_GAP:
      v.setUint16(o, u16(r.expected, 'expected'), true);
      return o + 2;
    case Status.NO_SESSION:
      v.setUint32(o, u32(r.bootEpoch, 'bootEpoch'), true);
      return o + 4;
    case Status.REG_NOT_ALLOWED:
    case Status.VALUE_NOT_ALLOWED:
      v.setUint32(o, u32(r.address, 'address'), true);
      return o + 4;
    case Status.DMA_START_REFUSED:
      v.setUint8(o, u8(r.reason, 'reason'));
      return o + 1;
    case Status.POLL_TIMEOUT:
      v.setUint32(o, u32(r.lastValue, 'lastValue'), true);
      return o + 4;
    default:
      return o;
  }
}

function writeHello(o: number, h: HelloInfo): number {
  const v = bodyView;
  if (h.uid.length !== 12) throw new EncodeError(`uid must be 12 bytes, got ${h.uid.length}`);
  checkRoom(o, HELLO_BODY_LENGTH, 'HELLO reply');
  v.setUint8(o, u8(h.protocolVersion, 'protocolVersion'));
  v.setUint8(o + 1, u8(h.firmwareVersion.major, 'major'));
  v.setUint8(o + 2, u8(h.firmwareVersion.minor, 'minor'));
  v.setUint8(o + 3, u8(h.firmwareVersion.patch, 'patch'));
  v.setUint16(o + 4, u16(h.devId, 'devId'), true);
  v.setUint16(o + 6, u16(h.revId, 'revId'), true);
  bodyScratch.set(h.uid, o + 8);
  v.setUint32(o + 20, u32(h.arenaBase, 'arenaBase'), true);
  v.setUint32(o + 24, u32(h.arenaSize, 'arenaSize'), true);
  v.setUint16(o + 28, u16(h.maxRequestPayload, 'maxRequestPayload'), true);
  v.setUint16(o + 30, u16(h.maxReplyPayload, 'maxReplyPayload'), true);
  v.setUint8(o + 32, u8(h.window, 'window'));
  v.setUint32(o + 33, u32(h.capabilities, 'capabilities'), true);
  v.setUint32(o + 37, u32(h.bootEpoch, 'bootEpoch'), true);
  v.setUint32(o + 41, u32(h.usart1ClockHz, 'usart1ClockHz'), true);
  v.setUint32(o + 45, u32(h.linkBaud, 'linkBaud'), true);
  let end = o + HELLO_BODY_LENGTH;
  // The fields version 2 appended; a board that has none of them ends here.
  if (h.rxBuffer !== undefined || h.bootLinkBaud !== undefined || h.linkRates.length > 0) {
    checkRoom(end, 7 + 4 * h.linkRates.length, 'HELLO reply');
    v.setUint16(end, u16(h.rxBuffer ?? 0, 'rxBuffer'), true);
    v.setUint32(end + 2, u32(h.bootLinkBaud ?? h.linkBaud, 'bootLinkBaud'), true);
    v.setUint8(end + 6, u8(h.linkRates.length, 'rateCount'));
    end += 7;
    for (const r of h.linkRates) {
      v.setUint32(end, u32(r, 'rate'), true);
      end += 4;
    }
  }
  return end;
}
