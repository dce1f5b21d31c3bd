/**
 * A Transfer's state and steps (markDmaDone, restoreOnRefusal, its rule,
 * engine and loan) live in ECMAScript private fields and the instance is
 * frozen: whoever holds the Transfer cannot make the ledger take memory
 * back from a running DMA.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialTarget, pattern, type SerialTarget } from './support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const CCR1 = 0x4002_0008;
const CNDTR1 = 0x4002_000c;
const CMAR1 = 0x4002_0014;

/** Channel 1's registers: whether it runs, and over which memory. */
async function channel1(board: SerialTarget['board']): Promise<{ en: boolean; start: number; end: number }> {
  const ccr = (await board.readRegister(CCR1)) >>> 0;
  const cndtr = (await board.readRegister(CNDTR1)) & 0xffff;
  const cmar = (await board.readRegister(CMAR1)) >>> 0;
  return { en: (ccr & 1) === 1 && cndtr > 0, start: cmar, end: cmar + cndtr };
}

/** Writes `next`, lets the peer send 16 bytes, and returns what `next` holds before and after. */
async function peerSends(t: SerialTarget, next: Any): Promise<{ before: number[]; after: number[] }> {
  await next.write(pattern(16, 9)).catch(() => {}); // refused (BUSY) when a DMA runs there
  const before = Array.from(await next.read()) as number[];
  t.vb.peer.inject(new Uint8Array(16).fill(0x5a));
  await new Promise((r) => setTimeout(r, 300));
  return { before, after: Array.from(await next.read()) as number[] };
}

// biome-ignore lint/suspicious/noExplicitAny: reaching members TypeScript hides, as JavaScript can
type Any = any;

describe("a Transfer's private steps cannot be called from outside", () => {
  it('markDmaDone() called from outside does not hand back memory the running DMA still writes', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const buf = board.alloc(16);
    const addr = buf.address;
    const tr = serial.readExact(buf);
    await tr.started;
    try {
      (tr as Any).markDmaDone();
    } catch (e) {
      console.log('refused:', (e as Error).message);
    }
    const res = await tr.wait({ timeoutMs: 200 }).catch((e: unknown) => e);
    const ccrAfter = (await board.readRegister(CCR1)) >>> 0;
    console.log('wait outcome', (res as Any)?.constructor?.name, 'CCR1 EN', ccrAfter & 1);
    if ((res as Any)?.buffer) (res as Any).buffer.free();
    // If the memory came back, the allocator hands it out again...
    const next = board.alloc(16);
    const ch = await channel1(board);
    console.log('next at', next.address.toString(16), 'old', addr.toString(16), 'ch1', ch);
    const handedOutUnderDma = ch.en && next.address < ch.end && ch.start < next.address + next.length;
    // ...and the peer's bytes land in it through the DMA that never stopped.
    const { before, after } = await peerSends(t, next);
    expect({ handedOutUnderDma, after }).toEqual({ handedOutUnderDma: false, after: before });
  }, 10_000);

  it('restoreOnRefusal() called from outside does not make a lent buffer usable again', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const buf = board.alloc(16);
    const tr = serial.readExact(buf);
    await tr.started;
    try {
      (tr as Any).restoreOnRefusal();
      buf.free();
    } catch (e) {
      console.log('refused:', (e as Error).message);
    }
    const next = board.alloc(16);
    const ch = await channel1(board);
    const handedOutUnderDma = ch.en && next.address < ch.end && ch.start < next.address + next.length;
    const { before, after } = await peerSends(t, next);
    expect({ handedOutUnderDma, after }).toEqual({ handedOutUnderDma: false, after: before });
  }, 10_000);
});

describe('a Transfer is frozen', () => {
  it('swapping its `started` promise does not let stop() hand back memory before the start is answered', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const tr = serial.readExact(board.alloc(16));
    expect(Object.isFrozen(tr)).toBe(true);
    expect(() => {
      (tr as Any).started = Promise.resolve();
    }).toThrow(TypeError);
    expect(Object.getOwnPropertyNames(tr)).toEqual(['started']);
    await tr.started;
    const { buffer } = await tr.stop();
    const ch = await channel1(board);
    expect(ch.en).toBe(false);
    buffer.free();
  }, 10_000);
});
