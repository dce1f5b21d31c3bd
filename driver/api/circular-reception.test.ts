/**
 * Circular reception on the fake board with a manual clock. The fake's DMA
 * does not run by itself here: `CircularDma` writes the bytes the peer
 * sends round the buffer and counts CNDTR and completions as the hardware
 * does, so each test says exactly where the DMA is when the reader looks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MovedError } from '../board/buffer-errors.ts';
import { DmaStartRefusedError } from '../board/errors.ts';
import { FAKE, type FakeBoard, type FakeBoardOptions } from '../test-support/fake-board.ts';
import { settle } from '../test-support/manual-timers.ts';
import {
  batchesSince,
  DMA_HT,
  DMA_TC,
  DMA_TE,
  delivered,
  describeOps,
  emitDma,
  type SerialOnFake,
  serialOnFake,
  USART_BRR,
  USART_FE,
  USART_IDLE,
  USART_NE,
  USART_ORE,
  USART_PE,
  USART_TC,
} from '../test-support/serial-harness.ts';
import { DmaTransferError, OverrunError, TransferInDoubtError } from './errors.ts';
import type { Serial1 } from './serial1.ts';

const ARENA = 0x2000_4000;

let open: SerialOnFake | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

async function setUp(options: { fake?: FakeBoardOptions } = {}): Promise<SerialOnFake> {
  open = await serialOnFake(options);
  return open;
}

/** DMA1 channel 1 in circular mode over `items` bytes at the start of the arena. */
class CircularDma {
  position = 0;
  completions = 0;
  constructor(
    private readonly fake: FakeBoard,
    private readonly items: number,
  ) {}

  /** The peer's bytes land in the buffer; each half filled raises HT or TC (unless `events` is false). */
  receive(bytes: readonly number[], { events = true } = {}): void {
    for (const b of bytes) {
      this.fake.arena[this.position % this.items] = b;
      this.position++;
      if (this.position % (this.items / 2) === 0) {
        this.completions++;
        this.fake.setCompletions(1, this.completions);
        if (events) {
          emitDma(this.fake, 1, this.position % this.items === 0 ? DMA_TC : DMA_HT, {
            completions: this.completions,
            cndtr: this.items - (this.position % this.items),
          });
        }
      }
    }
    this.fake.registers.set(FAKE.CNDTR1, this.items - (this.position % this.items));
  }
}

const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

async function started(size = 8, options: { fake?: FakeBoardOptions } = {}) {
  const o = await setUp(options);
  const c = o.serial.readCircular(o.board.alloc(size));
  await c.started;
  return { ...o, c, dma: new CircularDma(o.fake, size), it: c[Symbol.asyncIterator]() };
}

const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

/** The MEM_READ lengths the fake was asked for since `from`. */
const memReads = (fake: FakeBoard, from: number) =>
  fake.received.slice(from).flatMap((r) => (r.command === 'mem-read' ? [r.length] : []));

describe('readCircular() checks before anything moves', () => {
  it('an odd number of items cannot be split in halves', async () => {
    const { board, serial } = await setUp();
    const buffer = board.alloc(6, { align: 2 });
    expect(() => serial.readCircular(buffer, { dataSize: 16 })).toThrow(
      new RangeError('circular reception needs an even number of items to split in halves; got 3'),
    );
    // Neither moved.
    await buffer.read();
    const c = serial.readCircular(buffer.subarray(0, 4), { dataSize: 16 });
    await c.started;
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'lent', holder: 'readCircular()' });
  });

  it('options are read once and checked; a moved serial says who moved it', async () => {
    const { board, serial } = await setUp();
    expect(() => serial.readCircular(board.alloc(8), { dataSize: 12 as 8 })).toThrow(
      'readCircular(): dataSize is 8, 16 or 32; got 12',
    );
    serial.readCircular(board.alloc(8));
    expect(() => serial.readCircular(board.alloc(8))).toThrow(
      new MovedError(
        'this Serial1',
        'readCircular()',
        'use the Serial1 that wait(), stop() or close() returned',
      ),
    );
  });
});

describe('reading halves', () => {
  it('hands each half over once all of it has been copied, round the buffer', async () => {
    const { c, dma, it } = await started();
    dma.receive(seq(1, 4));
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(1, 4)));
    dma.receive(seq(5, 4));
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(5, 4)));
    dma.receive(seq(9, 4));
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(9, 4)));
    expect(c.progress).toEqual({ produced: 3, consumed: 3 });
  });

  it('16-bit items: halves of whole items, copied an item at a time as they come', async () => {
    const { board, fake, timers, serial } = await setUp();
    const c = serial.readCircular(board.alloc(8, { align: 2 }), { dataSize: 16 });
    await c.started;
    const it = c[Symbol.asyncIterator]();
    fake.arena.set([1, 0, 2, 0], 0);
    fake.registers.set(FAKE.CNDTR1, 2);
    fake.setCompletions(1, 1);
    emitDma(fake, 1, DMA_HT, { completions: 1, cndtr: 2 });
    expect((await it.next()).value).toEqual(Uint8Array.of(1, 0, 2, 0));
    // The second half: one item, then the other.
    const next = it.next();
    fake.arena.set([3, 0], 4);
    fake.registers.set(FAKE.CNDTR1, 1);
    await timers.advance(1);
    fake.arena.set([4, 0], 6);
    fake.registers.set(FAKE.CNDTR1, 4);
    fake.setCompletions(1, 2);
    emitDma(fake, 1, DMA_TC, { completions: 2, cndtr: 4 });
    expect((await next).value).toEqual(Uint8Array.of(3, 0, 4, 0));
    expect(memReads(fake, 0).slice(-2)).toEqual([2, 2]);
  });

  it('copies what has come as soon as it is seen, before the half is complete', async () => {
    const { board, fake, timers, dma, it } = await started();
    const from = fake.received.length;
    const next = it.next();
    dma.receive(seq(1, 2), { events: false });
    await timers.advance(1);
    dma.receive(seq(3, 2));
    expect((await next).value).toEqual(Uint8Array.from(seq(1, 4)));
    expect(memReads(fake, from)).toEqual([2, 2]);
    await delivered(board);
  });

  it('a DMA event wakes a waiting reader at once', async () => {
    const { fake, dma, it } = await started();
    const next = it.next();
    await settle();
    const from = fake.received.length;
    dma.receive(seq(1, 4));
    expect((await next).value).toEqual(Uint8Array.from(seq(1, 4)));
    expect(memReads(fake, from)).toEqual([4]);
  });

  it('a count of completions from before is ignored: the count only moves forward', async () => {
    const { board, fake, c, dma, it } = await started();
    dma.receive(seq(1, 8));
    await delivered(board);
    expect(c.progress.produced).toBe(2);
    emitDma(fake, 1, DMA_HT, { completions: 1 });
    await delivered(board);
    expect(c.progress.produced).toBe(2);
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(1, 4)));
  });
});

describe('the end of a reading', () => {
  it('stop() ends a waiting reader’s iteration at once', async () => {
    const { c, it } = await started();
    const next = it.next();
    await settle();
    await c.stop();
    expect(await next).toEqual({ done: true, value: undefined });
  });

  it('return() stops and says done', async () => {
    const { board, it } = await started();
    expect(await it.return!()).toEqual({ done: true, value: undefined });
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'owned' });
  });

  it('board.recover() fails a waiting reader with RevokedError', async () => {
    const { board, it } = await started();
    const next = errorOf(it.next());
    await settle();
    await board.recover();
    expect((await next)?.name).toBe('RevokedError');
  });

  it('a transfer error that comes while a copy is read fails the reading, not the copy', async () => {
    const { fake, dma, it } = await started();
    fake.onRequest = (r) => {
      if (r.command === 'mem-read') emitDma(fake, 1, DMA_TE, { cndtr: 4 });
      return 'process';
    };
    dma.receive(seq(1, 4));
    expect(await errorOf(it.next())).toBeInstanceOf(DmaTransferError);
  });
});

describe('overrun', () => {
  it('a half the DMA has come round to again is an OverrunError; the channel is stopped', async () => {
    const { board, fake, c, dma, it } = await started();
    dma.receive(seq(1, 13));
    await delivered(board);
    const from = fake.received.length;
    const error = await errorOf(it.next());
    expect(error).toEqual(new OverrunError(3, 0));
    expect(error!.message).toBe(
      'circular reception overran: the DMA filled 3 halves but only 0 were read, so data was overwritten; ' +
        'read faster, use a larger buffer, or lower the baud rate',
    );
    await settle();
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(await errorOf(it.next())).toBe(error);
    expect((await c.stop()).buffer).toBeDefined();
  });

  it('a whole lap ahead is not yet an overrun', async () => {
    const { board, dma, it } = await started();
    dma.receive(seq(1, 8));
    await delivered(board);
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(1, 4)));
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(5, 4)));
  });

  it('a copy the DMA overtook while it was read is an overrun, not data', async () => {
    const { fake, dma, it } = await started();
    dma.receive(seq(1, 4));
    fake.onRequest = (r) => {
      if (r.command === 'mem-read') dma.receive(seq(5, 5), { events: false });
      return 'process';
    };
    // 4 copied from [0, 4); right after, the DMA is at 9: it wrote over item 0 again.
    const error = await errorOf(it.next());
    expect(error).toBeInstanceOf(OverrunError);
  });
});

describe('stop() and rest()', () => {
  it('stop() is confirmed by the board, hands back fresh owners, and is the same promise every time', async () => {
    const { board, fake, c, it } = await started();
    const from = fake.received.length;
    const first = c.stop();
    expect(c.stop()).toBe(first);
    const { serial, buffer } = await first;
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'owned' });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await buffer.read();
    await (serial as Serial1).writeAll(buffer).started;
  });

  it('ending the iteration stops the reception', async () => {
    const { board, c, dma } = await started();
    dma.receive(seq(1, 4));
    for await (const half of c) {
      expect(half).toEqual(Uint8Array.from(seq(1, 4)));
      break;
    }
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'owned' });
  });

  it('rest() gives the bytes after the last half read, where the stop left them', async () => {
    const { board, c, dma, it } = await started();
    dma.receive(seq(1, 4));
    await it.next();
    dma.receive(seq(5, 3), { events: false });
    await delivered(board);
    expect(await c.rest()).toEqual(Uint8Array.from(seq(5, 3)));
  });

  it('rest() past the end of the buffer reads from its start', async () => {
    const { c, dma, it } = await started();
    dma.receive(seq(1, 8));
    await it.next();
    await it.next();
    dma.receive(seq(9, 2), { events: false });
    expect(await c.rest()).toEqual(Uint8Array.from(seq(9, 2)));
  });

  it('rest() is empty when nothing came after the last half, or a half or more did', async () => {
    const first = await started();
    first.dma.receive(seq(1, 4));
    await first.it.next();
    expect(await first.c.rest()).toEqual(new Uint8Array(0));
    await first.board.close();
    const second = await started();
    second.dma.receive(seq(1, 4), { events: false });
    expect(await second.c.rest()).toEqual(new Uint8Array(0));
  });

  it('a stop the board never confirms rejects, leaves the memory in doubt, and rest() is empty', async () => {
    const { board, fake, timers, c } = await started();
    fake.onRequest = () => 'drop-reply';
    const stopping = errorOf(c.stop());
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = await stopping;
    expect(error).toBeInstanceOf(Error);
    expect(board.arenaRegions()[0]).toMatchObject({
      state: 'in-doubt',
      holder: `readCircular(): ${error!.message}`,
    });
    expect(await c.rest()).toEqual(new Uint8Array(0));
  });

  it('`await using` stops it and frees the allocation', async () => {
    const { board, serial } = await setUp();
    const size = board.arenaUsage().free;
    {
      await using c = serial.readCircular(board.alloc(8));
      await c.started;
      expect(board.arenaUsage().inTransfer).toBe(8);
    }
    expect(board.arenaUsage()).toMatchObject({ free: size, buffers: 0 });
  });

  it('disposing of one whose start was refused changes nothing', async () => {
    const { board, fake, serial } = await setUp();
    occupyArena(fake);
    const buffer = board.alloc(8);
    const c = serial.readCircular(buffer);
    await c[Symbol.asyncDispose]();
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'owned' });
  });
});

/** Channel 2 runs over the start of the arena: the board refuses a start of channel 1 there. */
function occupyArena(fake: FakeBoard) {
  fake.registers.set(FAKE.CCR2, 0x81);
  fake.registers.set(FAKE.CCR2 + 4, 16);
  fake.registers.set(FAKE.CMAR2, ARENA);
}

describe('a start that fails', () => {
  it('refused by the board: the buffer and the serial are usable again, the reading fails with the refusal', async () => {
    const { board, fake, serial } = await setUp();
    occupyArena(fake);
    const buffer = board.alloc(8);
    const c = serial.readCircular(buffer);
    const refusal = await errorOf(c.started);
    expect(refusal).toBeInstanceOf(DmaStartRefusedError);
    expect(await errorOf(c[Symbol.asyncIterator]().next())).toBe(refusal);
    expect(board.arenaRegions()[0]).toMatchObject({ state: 'owned' });
    fake.registers.set(FAKE.CCR2, 0);
    await serial.readCircular(buffer).started;
  });

  it('unanswered: in doubt, the memory reserved and the serial moved', async () => {
    const { board, fake, timers, serial } = await setUp();
    fake.onRequest = (r) => (r.command === 'reg-batch' ? 'drop-reply' : 'process');
    const c = serial.readCircular(board.alloc(8));
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = (await errorOf(c.started)) as TransferInDoubtError;
    expect(error).toBeInstanceOf(TransferInDoubtError);
    expect(error.by).toBe('readCircular()');
    expect(board.arenaRegions()[0]).toMatchObject({
      state: 'in-doubt',
      holder: `readCircular(): ${error.message}`,
    });
    expect(() => serial.readCircular(board.alloc(8))).toThrow(MovedError);
  });
});

describe('errors while receiving', () => {
  it('USART reception errors are counted, not fatal (the DMA skips bad characters)', async () => {
    const { board, fake, c, dma, it } = await started();
    for (const flag of [USART_FE, USART_NE, USART_PE, USART_ORE, USART_IDLE, USART_TC])
      fake.emitUsartEvent(flag);
    await delivered(board);
    expect(c.usartErrors).toBe(4);
    dma.receive(seq(1, 4));
    expect((await it.next()).value).toEqual(Uint8Array.from(seq(1, 4)));
  });

  it('a transfer error (TE) fails the reading with DmaTransferError', async () => {
    const { fake, it } = await started();
    const next = errorOf(it.next());
    emitDma(fake, 1, DMA_TE, { cndtr: 5 });
    const error = (await next) as DmaTransferError;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect({ channel: error.channel, transferred: error.transferred }).toEqual({
      channel: 1,
      transferred: 3,
    });
  });

  it('a re-read that finds the channel disabled: a transfer error', async () => {
    const { fake, timers, it } = await started();
    const next = errorOf(it.next());
    await settle();
    fake.registers.set(FAKE.CCR1, fake.reg(FAKE.CCR1) & ~1);
    fake.registers.set(FAKE.CNDTR1, 6);
    await timers.advance(1);
    const error = (await next) as DmaTransferError;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect(error.transferred).toBe(2);
  });

  it('a loss on the link makes it re-read the count', async () => {
    const { board, fake, c, dma } = await started();
    dma.receive(seq(1, 4), { events: false });
    fake.emitEvent(
      { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
      { lose: true },
    );
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    await delivered(board);
    expect(c.progress.produced).toBe(1);
  });

  it('a re-read the board never answers fails the reading', async () => {
    const { fake, timers, it } = await started();
    const next = errorOf(it.next());
    await settle();
    fake.onRequest = () => 'drop-reply';
    for (let i = 0; i < 10; i++) await timers.advance(100);
    expect((await next)?.name).toBe('LinkTimeoutError');
  });
});

describe('how often a waiting reader looks', () => {
  /** When (on the manual clock) each STATUS-only batch reached the fake. */
  function statusTimes(fake: FakeBoard, now: () => number): number[] {
    const times: number[] = [];
    fake.onRequest = (r) => {
      if (r.command === 'reg-batch' && r.ops.length === 1 && r.ops[0]!.op === 'status') times.push(now());
      return 'process';
    };
    return times;
  }

  it('with no rate known, once a half should have filled (at least 250 ms), then 0.5, 1, 2, 4, 5 s apart', async () => {
    const { fake, timers, serial, board } = await setUp();
    fake.registers.set(USART_BRR, 8);
    const c = serial.readCircular(board.alloc(8));
    await c.started;
    const times = statusTimes(fake, () => timers.now());
    const next = c[Symbol.asyncIterator]().next();
    await timers.advance(20_000);
    expect(times).toEqual([250, 750, 1750, 3750, 7750, 12_750, 17_750]);
    next.catch(() => {});
  });

  it('a large buffer: the first look when half of it should have come, plus a margin', async () => {
    const { fake, timers, serial, board } = await setUp({ fake: { arenaSize: 0x8000 } });
    const c = serial.readCircular(board.alloc(8000));
    await c.started;
    const times = statusTimes(fake, () => timers.now());
    const next = c[Symbol.asyncIterator]().next();
    await timers.advance(600);
    // 4000 characters of 86.875 µs: 347.5 ms, × 1.25 = 434.4, + 100 (the looks after 256 characters fall between).
    expect(times.filter((t) => Number.isInteger(t))).toEqual([535]);
    next.catch(() => {});
  });

  it('with the rate known, after 256 characters, then twice as long each time, up to 64 times', async () => {
    const { fake, timers, serial, board } = await setUp({ fake: { arenaSize: 0x8000 } });
    const c = serial.readCircular(board.alloc(1024));
    await c.started;
    const times = statusTimes(fake, () => timers.now());
    const next = c[Symbol.asyncIterator]().next();
    await timers.advance(3000);
    const piece = 256 * ((10 * 556) / 64_000);
    const looks: number[] = [];
    for (const k of [1, 2, 4, 8, 16, 32, 64]) looks.push((looks.at(-1) ?? 0) + k * piece);
    // The looks, and the slower check (once a half should have filled: 250 ms, then 500 later).
    const expected = [...looks.filter((t) => t <= 3000), 250, 750, 1750].sort((a, b) => a - b);
    expect(times).toHaveLength(expected.length);
    for (const [i, t] of times.entries()) expect(t).toBeCloseTo(expected[i]!, 6);
    next.catch(() => {});
  });

  it('a reader served meanwhile: no further looks', async () => {
    const { fake, timers, serial, board } = await setUp();
    fake.registers.set(USART_BRR, 8);
    const c = serial.readCircular(board.alloc(8));
    await c.started;
    const dma = new CircularDma(fake, 8);
    const it = c[Symbol.asyncIterator]();
    const times = statusTimes(fake, () => timers.now());
    const onStatus = fake.onRequest!;
    // The data comes with the first look.
    fake.onRequest = (r) => {
      if (times.length === 0 && r.command === 'reg-batch') dma.receive(seq(1, 4));
      return onStatus(r);
    };
    const next = it.next();
    await timers.advance(250);
    expect((await next).value).toEqual(Uint8Array.from(seq(1, 4)));
    await timers.advance(20_000);
    // The look, and the STATUS behind the copy; none after.
    expect(times).toEqual([250, 250]);
  });

  it('data coming back resets the waits to their shortest', async () => {
    const { fake, timers, serial, board } = await setUp();
    fake.registers.set(USART_BRR, 8);
    const c = serial.readCircular(board.alloc(8));
    await c.started;
    const dma = new CircularDma(fake, 8);
    const it = c[Symbol.asyncIterator]();
    const first = it.next();
    await timers.advance(800);
    dma.receive(seq(1, 4));
    await first;
    const times = statusTimes(fake, () => timers.now());
    const second = it.next();
    await timers.advance(300);
    expect(times).toEqual([800 + 250]);
    second.catch(() => {});
  });
});
