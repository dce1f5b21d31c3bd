import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbMessage } from '../test-support/arbitraries.ts';
import { mulberry32 } from '../transport/prng.ts';
import { FrameDecoder } from './decoder.ts';
import { encodeMessage, encodeRawFrame } from './encode.ts';
import { type Decoded, Limits, type Message, PROTOCOL_VERSION } from './messages.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function feed(decoder: FrameDecoder, bytes: Uint8Array, cuts: number[]): Decoded[] {
  const out: Decoded[] = [];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const p of [...points, bytes.length]) {
    decoder.push(bytes.subarray(from, p), (d) => out.push(d));
    from = p;
  }
  return out;
}

describe('FrameDecoder', () => {
  it('decodes the same frames however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(arbMessage, { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (ms, cuts) => {
          const wire = concat([new Uint8Array([0]), ...ms.map(encodeMessage)]);
          expect(feed(new FrameDecoder(), wire, cuts)).toEqual(ms);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes byte by byte', () => {
    const ms: Message[] = [
      { kind: 'request', command: 'reg-read', seq: 1, address: 0x4002_0008 },
      {
        kind: 'event',
        event: 'dma',
        counter: 4,
        channel: 1,
        flags: 2,
        cndtr: 0,
        ccr: 0x93,
        completions: 1,
        starts: 1,
      },
    ];
    const wire = concat(ms.map(encodeMessage));
    const d = new FrameDecoder();
    const out: Decoded[] = [];
    for (let i = 0; i < wire.length; i++) d.push(wire.subarray(i, i + 1), (x) => out.push(x));
    expect(out).toEqual(ms);
  });

  it('ignores empty frames and reports short, bad-COBS and bad-CRC frames as values', () => {
    const good = encodeMessage({ kind: 'request', command: 'hello', seq: 5 });
    const badCrc = good.slice();
    badCrc[2]! ^= 0x10;
    const out = feed(
      new FrameDecoder(),
      concat([
        new Uint8Array([0, 0, 0]),
        new Uint8Array([3, 1, 2, 0]),
        new Uint8Array([9, 1, 0]),
        badCrc,
        good,
      ]),
      [],
    );
    expect(out).toEqual([
      { kind: 'corrupt', reason: 'short', length: 3 },
      { kind: 'corrupt', reason: 'cobs', length: 2 },
      { kind: 'corrupt', reason: 'crc', length: badCrc.length - 1, seqHint: 5 },
      { kind: 'request', command: 'hello', seq: 5 },
    ]);
  });

  it('discards an oversized frame up to the next delimiter and then resynchronises', () => {
    const d = new FrameDecoder({ maxPayload: Limits.maxReplyPayload });
    const big = encodeRawFrame(
      PROTOCOL_VERSION,
      0x86,
      1,
      new Uint8Array(Limits.markLength + Limits.maxReplyPayload + 1).fill(7),
    );
    const good = encodeMessage({ kind: 'nak', seq: 3, mark: 0, status: 1 });
    const out = feed(d, concat([big, good]), [5, 100, 200]);
    expect(out).toEqual([
      { kind: 'corrupt', reason: 'too-large', length: big.length - 1 },
      { kind: 'nak', seq: 3, mark: 0, status: 1 },
    ]);
    // A maximum-size reply still passes.
    const max = encodeRawFrame(
      PROTOCOL_VERSION,
      0x82,
      1,
      new Uint8Array(Limits.markLength + Limits.maxReplyPayload),
    );
    expect(feed(d, max, [])[0]).toMatchObject({ kind: 'reply', command: 'ping', seq: 1 });
  });

  it('never yields a false frame from random garbage between frames (10^5 tries)', () => {
    // One long seeded stream: frame, garbage, frame, garbage ... Each genuine
    // frame is a PING whose payload is its index. A frame must arrive unless
    // the garbage just before it ends without a delimiter (then the garbage
    // lands in it and the frame is lost, which is the most garbage may cost).
    const rng = mulberry32(0x5eed);
    const decoder = new FrameDecoder();
    const tries = 100_000;
    const expected: number[] = [];
    let falseFrames = 0;
    const received: number[] = [];
    const onDecoded = (d: Decoded) => {
      if (d.kind === 'corrupt') return;
      const ok = d.kind === 'request' && d.command === 'ping' && d.data.length === 4;
      if (!ok) {
        falseFrames++;
        return;
      }
      const view = new DataView(d.data.buffer, d.data.byteOffset, 4);
      const index = view.getUint32(0, true);
      if (d.seq !== (index & 0xffff)) falseFrames++;
      else received.push(index);
    };
    const payload = new Uint8Array(4);
    const payloadView = new DataView(payload.buffer);
    let garbageEndsOpen = false;
    for (let i = 0; i < tries; i++) {
      payloadView.setUint32(0, i, true);
      const frame = encodeMessage({ kind: 'request', command: 'ping', seq: i & 0xffff, data: payload });
      if (!garbageEndsOpen) expected.push(i);
      const garbage = new Uint8Array(rng.int(24));
      // Mostly non-zero bytes, with delimiters now and then, like line noise.
      for (let k = 0; k < garbage.length; k++) garbage[k] = rng.next() < 0.08 ? 0 : rng.byte();
      garbageEndsOpen = garbage.length > 0 && garbage[garbage.length - 1] !== 0;
      const cut = rng.int(frame.length + 1);
      decoder.push(frame.subarray(0, cut), onDecoded);
      decoder.push(frame.subarray(cut), onDecoded);
      decoder.push(garbage, onDecoded);
    }
    expect(falseFrames).toBe(0);
    // Exactly the frames garbage did not land in, in order.
    expect(received).toEqual(expected);
  });
});
