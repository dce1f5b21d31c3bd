import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbEvent, arbMessage, arbNak, arbReply, arbRequest } from '../test-support/arbitraries.ts';
import { FrameDecoder } from './decoder.ts';
import { EncodeError, encodeMessage, encodeRawFrame } from './encode.ts';
import {
  type BatchOp,
  type Decoded,
  DmaStartRefusedReason,
  describeDmaStartRefusedReason,
  type Message,
  MessageType,
  PROTOCOL_VERSION,
  STATUS_DESCRIPTIONS,
  Status,
  statusName,
} from './messages.ts';

function decodeAll(bytes: Uint8Array, decoder = new FrameDecoder()): Decoded[] {
  const out: Decoded[] = [];
  decoder.push(bytes, (d) => out.push(d));
  return out;
}

const roundTrip = (m: Message) => {
  const wire = encodeMessage(m);
  expect(wire[wire.length - 1]).toBe(0);
  expect(wire.subarray(0, -1).includes(0)).toBe(false);
  expect(decodeAll(wire)).toEqual([m]);
};

describe('message codec', () => {
  it('round-trips every request type', () => {
    fc.assert(fc.property(arbRequest, roundTrip), { numRuns: 2000 });
  });

  it('round-trips every reply type, OK and refused', () => {
    fc.assert(fc.property(arbReply, roundTrip), { numRuns: 2000 });
  });

  it('round-trips NAKs', () => {
    fc.assert(fc.property(arbNak, roundTrip));
  });

  it('round-trips every event type', () => {
    fc.assert(fc.property(arbEvent, roundTrip), { numRuns: 1000 });
  });

  it('reads a USART event with and without the start numbers firmware 2.4 added', () => {
    const usart = [0x40, 0xc0, 0, 0, 0, 3, 0, 4, 0];
    const [old] = decodeAll(encodeRawFrame(PROTOCOL_VERSION, MessageType.USART, 5, Uint8Array.from(usart)));
    expect(old).toEqual({
      kind: 'event',
      event: 'usart',
      counter: 5,
      flags: 0x40,
      isr: 0xc0,
      cndtr1: 3,
      cndtr2: 4,
    });
    const named = Uint8Array.from([...usart, 0x34, 0x12, 0x78, 0x56]);
    const [current] = decodeAll(encodeRawFrame(PROTOCOL_VERSION, MessageType.USART, 5, named));
    expect(current).toMatchObject({ event: 'usart', cndtr2: 4, starts1: 0x1234, starts2: 0x5678 });
    // Start numbers cut short are no layout any firmware sends.
    for (const cut of [1, 2, 3]) {
      const [d] = decodeAll(
        encodeRawFrame(PROTOCOL_VERSION, MessageType.USART, 5, named.subarray(0, usart.length + cut)),
      );
      expect(d).toMatchObject({ kind: 'invalid', reason: 'malformed' });
    }
    const half = {
      kind: 'event',
      event: 'usart',
      counter: 5,
      flags: 0,
      isr: 0,
      cndtr1: 0,
      cndtr2: 0,
      starts1: 1,
    };
    expect(() => encodeMessage(half as Message)).toThrow(EncodeError);
  });

  it('skips fields a later firmware appends to an event (PROTOCOL.md §10)', () => {
    const events: [number, number[], object][] = [
      [MessageType.BOOT, [1, 0, 0, 0, 2, 4, 0], { event: 'boot', bootEpoch: 1 }],
      [MessageType.DMA, [1, 2, 0, 0, 0, 0, 0, 0, 1, 0, 9, 0], { event: 'dma', channel: 1, starts: 9 }],
      [MessageType.USART, [0x40, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0], { event: 'usart', starts2: 8 }],
    ];
    for (const [type, payload, fields] of events) {
      const longer = Uint8Array.from([...payload, 0xaa, 0xbb, 0xcc]);
      const [d] = decodeAll(encodeRawFrame(PROTOCOL_VERSION, type, 2, longer));
      expect(d, `type 0x${type.toString(16)}`).toMatchObject({ kind: 'event', counter: 2, ...fields });
    }
  });

  it('encodes the PROTOCOL.md §9 example byte for byte', () => {
    const ping = encodeMessage({ kind: 'request', command: 'ping', seq: 7, data: new Uint8Array([1, 2]) });
    // body 02 02 07 00 01 02, CRC 0x838D low byte first, COBS, delimiter.
    expect([...ping]).toEqual([0x04, 0x02, 0x02, 0x07, 0x05, 0x01, 0x02, 0x8d, 0x83, 0x00]);
    const reply = encodeMessage({
      kind: 'reply',
      mark: 3,
      command: 'ping',
      seq: 7,
      result: { status: Status.OK, data: new Uint8Array([1, 2]) },
    });
    // type 0x82, seq 7, event mark 3, payload 00 01 02.
    expect([...reply]).toEqual([
      0x04, 0x02, 0x82, 0x07, 0x02, 0x03, 0x01, 0x05, 0x01, 0x02, 0xd7, 0x48, 0x00,
    ]);
    expect(decodeAll(reply)).toEqual([
      {
        kind: 'reply',
        command: 'ping',
        seq: 7,
        mark: 3,
        result: { status: 0, data: new Uint8Array([1, 2]) },
      },
    ]);
  });

  it('decodes the overlap refusal of a DMA start (reason 9) from the wire', () => {
    // reply to REG_WRITE (0x84), seq 5, mark 0, status DMA_START_REFUSED (0x0D), reason 9
    const frame = encodeRawFrame(PROTOCOL_VERSION, 0x84, 5, new Uint8Array([0, 0, 0x0d, 9]));
    const [reply] = decodeAll(frame);
    expect(reply).toMatchObject({ kind: 'reply', command: 'reg-write', result: { status: 0x0d, reason: 9 } });
    expect(describeDmaStartRefusedReason(9)).toMatch(/overlaps/);
  });

  it('refuses to encode a batch operation it does not know', () => {
    const bogus = { op: 'frobnicate', address: 0 } as unknown as BatchOp;
    expect(() => encodeMessage({ kind: 'request', command: 'reg-batch', seq: 1, ops: [bogus] })).toThrow(
      EncodeError,
    );
  });

  it('reports an unknown type, another version and a malformed payload as values', () => {
    const [unknown] = decodeAll(encodeRawFrame(PROTOCOL_VERSION, 0x33, 9, new Uint8Array([1])));
    expect(unknown).toMatchObject({ kind: 'invalid', reason: 'unknown-type', type: 0x33, seq: 9 });
    const [version] = decodeAll(encodeRawFrame(1, MessageType.PING, 9, new Uint8Array()));
    expect(version).toMatchObject({ kind: 'invalid', reason: 'version', version: 1 });
    const cases: [number, number[]][] = [
      [MessageType.REG_READ, [1, 2, 3]], // address cut short
      [MessageType.REG_READ | 0x80, [0]], // the event mark cut short
      [MessageType.REG_READ | 0x80, [0, 0]], // no status
      [MessageType.REG_READ | 0x80, [0, 0, 0x77]], // unknown status
      [MessageType.REG_READ | 0x80, [0, 0, 0, 1, 2, 3, 4, 5]], // trailing bytes
      [MessageType.REG_BATCH, [0x09, 0, 0, 0, 0]], // unknown batch op
      [MessageType.REG_BATCH, [0x05]], // STATUS without its channel
      [MessageType.REG_BATCH | 0x80, [0, 0, 0, 0, 2, 1, 2, 3, 4]], // count says 2, one value
      [MessageType.HELLO | 0x80, [0, 0, 0, 1, 2, 3]], // HELLO body too short
      [MessageType.DMA, [1, 2, 3]],
      [MessageType.NAK, [0, 0]],
    ];
    for (const [type, payload] of cases) {
      const [d] = decodeAll(encodeRawFrame(PROTOCOL_VERSION, type, 3, new Uint8Array(payload)));
      expect(d, `type 0x${type.toString(16)} ${payload}`).toMatchObject({
        kind: 'invalid',
        reason: 'malformed',
      });
    }
  });

  it('gives session refusals to a REG_BATCH the plain layout', () => {
    const wire = encodeMessage({
      kind: 'reply',
      mark: 0,
      command: 'reg-batch',
      seq: 3,
      executed: 0,
      values: [],
      result: { status: Status.NO_SESSION, bootEpoch: 0x01020304 },
    });
    // mark, status 08, epoch 04 03 02 01: no executed/count bytes.
    expect(wire.length).toBe(1 + 4 + 2 + 5 + 2 + 1);
    const [plain] = decodeAll(
      encodeRawFrame(PROTOCOL_VERSION, 0x85, 3, Uint8Array.of(0x09, 0x00, 0x07, 0x34, 0x12)),
    );
    expect(plain).toEqual({
      kind: 'reply',
      command: 'reg-batch',
      seq: 3,
      mark: 9,
      executed: 0,
      values: [],
      result: { status: Status.SEQ_GAP, expected: 0x1234 },
    });
  });

  it('refuses to encode what the wire cannot carry', () => {
    const seq = 0;
    expect(() => encodeMessage({ kind: 'request', command: 'reg-read', seq: 0x1_0000, address: 0 })).toThrow(
      EncodeError,
    );
    expect(() => encodeMessage({ kind: 'request', command: 'reg-read', seq, address: -1 })).toThrow(
      EncodeError,
    );
    expect(() =>
      encodeMessage({ kind: 'request', command: 'mem-write', seq, address: 0, data: new Uint8Array(1021) }),
    ).toThrow(/split/);
    expect(() => encodeMessage({ kind: 'request', command: 'ping', seq, data: new Uint8Array(256) })).toThrow(
      EncodeError,
    );
  });

  it('describes every status and DMA start refusal reason', () => {
    for (const code of Object.values(Status)) {
      expect(STATUS_DESCRIPTIONS[code].length).toBeGreaterThan(3);
      expect(statusName(code)).toMatch(/^[A-Z_]+ \(0x[0-9a-f]{2}\)$/);
    }
    expect(statusName(0x42)).toBe('unknown status 0x42');
    for (let r = 1; r <= 9; r++) expect(describeDmaStartRefusedReason(r)).not.toMatch(/unknown/);
    expect(describeDmaStartRefusedReason(DmaStartRefusedReason.OVERLAPS_RUNNING_CHANNEL)).toMatch(
      /other DMA channel/,
    );
    expect(describeDmaStartRefusedReason(99)).toMatch(/unknown/);
  });

  it('round-trips mixed streams of any message', () => {
    fc.assert(
      fc.property(fc.array(arbMessage, { maxLength: 20 }), (ms) => {
        const wire = ms.map(encodeMessage);
        const all = new Uint8Array(wire.reduce((n, w) => n + w.length, 0));
        let o = 0;
        for (const w of wire) {
          all.set(w, o);
          o += w.length;
        }
        expect(decodeAll(all)).toEqual(ms);
      }),
      { numRuns: 200 },
    );
  });
});
