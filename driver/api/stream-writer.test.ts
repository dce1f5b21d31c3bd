/**
 * The streaming writer on the fake board with a manual clock: what it
 * uploads and starts, in which order and when, what the peer receives,
 * what close() and abort() resolve or reject with, and where its three
 * buffers stand in the ledger. The fake's DMA finishes a chunk only when a
 * test says so (`drain`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MovedError } from '../board/buffer-errors.ts';
import { FAKE, type FakeBoard, type FakeBoardOptions } from '../test-support/fake-board.ts';
import { settle } from '../test-support/manual-timers.ts';
import {
  batchesSince,
  DMA_TC,
  DMA_TE,
  delivered,
  describeOps,
  emitDma,
  type SerialOnFake,
  serialOnFake,
  USART_IDLE,
  USART_TC,
} from '../test-support/serial-harness.ts';
import {
  DmaTransferError,
  StreamAbortedError,
  StreamClosedError,
  type TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';
import { serialSideOf } from './serial1.ts';
import { StreamWriter } from './stream-writer.ts';

let open: SerialOnFake | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

async function setUp(options: { fake?: FakeBoardOptions } = {}): Promise<SerialOnFake> {
  open = await serialOnFake(options);
  return open;
}

const bytes = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );

/** The DMA finished the chunk it runs: CNDTR 0 and its TC event. */
function drain(fake: FakeBoard): void {
  fake.registers.set(FAKE.CNDTR1, 0);
  emitDma(fake, 1, DMA_TC);
}

/** The last chunk drained and the line idle: the stream is over. */
function finish(fake: FakeBoard): void {
  drain(fake);
  fake.emitUsartEvent(USART_TC);
}

/** What the writer sent since `from`, one line a request. */
function sent(fake: FakeBoard, from: number): string[] {
  return fake.received.slice(from).flatMap((r) => {
    if (r.command === 'mem-write')
      return [`upload ${[...r.data].join(',')} at ${(r.address - 0x2000_4000).toString()}`];
    if (r.command !== 'reg-batch') return [];
    const ops = describeOps(r.ops);
    if (ops.length === 1) return [ops[0]!];
    if (ops[0] === 'CCR1 = 0x0 in 0x1') return ['stop'];
    const poll = ops[0]!.startsWith('poll') ? 'after previous, ' : '';
    const full = ops.some((o) => o.startsWith('DMAMUX')) ? 'full' : 'restart';
    const cmar = ops.find((o) => o.startsWith('CMAR1'))!.slice(8);
    const cndtr = ops.find((o) => o.startsWith('CNDTR1'))!.slice(9);
    return [`start ${poll}${full} ${cndtr} at ${cmar}`];
  });
}

describe('streamWriter() checks before anything moves', () => {
  it('options: an object, a function for onProgress, 1..65535 for chunkSize, a data size and priority', async () => {
    const { board, serial } = await setUp();
    expect(() => serial.streamWriter(null as never)).toThrow(
      new TypeError('streamWriter() takes an options object; got null'),
    );
    expect(() => serial.streamWriter({ onProgress: 5 as never })).toThrow(
      new TypeError('streamWriter(): onProgress is a function; got number'),
    );
    for (const chunkSize of [0, 1.5, 0x1_0000, '64' as never]) {
      expect(() => serial.streamWriter({ chunkSize })).toThrow(
        new RangeError(`chunkSize must be 1..65535 bytes; got ${String(chunkSize)}`),
      );
    }
    expect(() => serial.streamWriter({ dataSize: 64 as never })).toThrow(
      'streamWriter(): dataSize is 8, 16 or 32; got 64',
    );
    expect(() => serial.streamWriter({ priority: 'now' as never })).toThrow(
      "streamWriter(): priority is 'low', 'medium', 'high' or 'very-high'; got now",
    );
    // Nothing was taken.
    expect(board.arenaUsage().buffers).toBe(0);
    await serial.writeAll(board.alloc(4)).started;
  });

  it('takes three buffers of four MEM_WRITE pieces by default, aligned to the data size', async () => {
    const { board, serial } = await setUp({ fake: { arenaSize: 0x8000 } });
    expect(board.limits.memWrite).toBe(1020);
    serial.streamWriter({ dataSize: 32 });
    expect(board.arenaRegions().filter((r) => r.state !== 'free')).toEqual([
      { address: 0x2000_4000, length: 4080, state: 'lent', holder: 'streamWriter()' },
      { address: 0x2000_4ff0, length: 4080, state: 'lent', holder: 'streamWriter()' },
      { address: 0x2000_5fe0, length: 4080, state: 'lent', holder: 'streamWriter()' },
    ]);
    expect(() => serial.streamWriter()).toThrow(
      new MovedError(
        'this Serial1',
        'streamWriter()',
        'use the Serial1 that wait(), stop() or close() returned',
      ),
    );
  });

  it('an arena too small for the three buffers: nothing is kept, the serial is not moved', async () => {
    const { board, serial } = await setUp();
    expect(() => serial.streamWriter({ chunkSize: 6000 })).toThrow();
    expect(board.arenaUsage()).toMatchObject({ buffers: 0, free: 0x4000 });
    serial.streamWriter({ chunkSize: 16 });
  });

  it('a busy channel is refused before any memory is taken', async () => {
    const { board, serial } = await setUp();
    const { tx } = serial.split();
    await tx.writeAll(board.alloc(4)).started;
    // A second owner of the running channel, as only a bug could make one: its token says usable.
    const side = { ...serialSideOf(tx), token: { check() {} } as never };
    expect(() => new StreamWriter(board, side, {})).toThrow(/^DMA1 channel 1 is still running a transfer/);
    expect(board.arenaUsage().buffers).toBe(1);
  });
});

describe('streaming', () => {
  it('uploads each chunk and starts it behind the previous one, which the board waits for', async () => {
    const { board, fake, timers, serial } = await setUp();
    const progress: number[] = [];
    const from = fake.received.length;
    const w = serial.streamWriter({ chunkSize: 4, onProgress: (n) => progress.push(n) });
    const writing = w.write(bytes(1, 10));
    await settle();
    expect(sent(fake, from)).toEqual([
      'upload 1,2,3,4 at 0',
      'start full 0x4 at 0x20004000',
      'upload 5,6,7,8 at 4',
      'start after previous, restart 0x4 at 0x20004004',
    ]);
    // The board's wait timed out (the first chunk is still going): tried again when it should be done.
    expect(progress).toEqual([4]);
    drain(fake);
    await timers.advance(1);
    expect(sent(fake, from).length).toBe(4);
    // ceil(4 characters × 86.875 µs) + 1 ms
    await timers.advance(1);
    expect(sent(fake, from).slice(4)).toEqual(['start after previous, full 0x4 at 0x20004004']);
    expect(progress).toEqual([4, 8]);
    await writing;
    expect(w.bytesWritten).toBe(8);
    const closing = w.close();
    await settle();
    expect(sent(fake, from).slice(5)).toEqual([
      'upload 9,10 at 8',
      'start after previous, restart 0x2 at 0x20004008',
    ]);
    drain(fake);
    await timers.advance(2);
    // The first chunk's TC came while no start was running: the board waits for it again.
    expect(sent(fake, from).slice(7)).toEqual(['start after previous, full 0x2 at 0x20004008']);
    finish(fake);
    await delivered(board);
    expect(progress).toEqual([4, 8, 10]);
    const serial2 = await closing;
    expect(board.arenaUsage()).toMatchObject({ buffers: 0, inTransfer: 0 });
    await serial2.writeAll(board.alloc(4)).started;
  });

  it('the peer receives every byte in order', async () => {
    const { fake, serial } = await setUp({ fake: { dmaCompletesAtOnce: true } });
    const w = serial.streamWriter({ chunkSize: 5 });
    await w.write(bytes(1, 7));
    await w.write(bytes(8, 9));
    await w.close();
    expect(fake.usartTx).toEqual([...bytes(1, 16)]);
  });

  it('a chunk whose TC came before the next start is not waited for on the board', async () => {
    const { fake, serial } = await setUp();
    const from = fake.received.length;
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    drain(fake);
    await settle();
    void w.write(bytes(5, 4));
    await settle();
    expect(sent(fake, from)).toEqual([
      'upload 1,2,3,4 at 0',
      'start full 0x4 at 0x20004000',
      'upload 5,6,7,8 at 4',
      'start restart 0x4 at 0x20004004',
    ]);
  });

  it('back-pressure: a write resolves once its chunks are uploading, three buffers ahead', async () => {
    const { fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    let done = false;
    w.write(bytes(1, 16)).then(
      () => {
        done = true;
      },
      () => {},
    );
    await settle();
    expect(done).toBe(false);
    drain(fake);
    await timers.advance(2);
    expect(done).toBe(true);
  });

  it('close() waits for the last bit on the wire; a TC of the line before the DMA is done does not count', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    let closed = false;
    w.close().then(
      () => {
        closed = true;
      },
      () => {},
    );
    fake.emitUsartEvent(USART_TC);
    await delivered(board);
    expect(closed).toBe(false);
    drain(fake);
    await delivered(board);
    expect(closed).toBe(false);
    fake.emitUsartEvent(USART_TC);
    await delivered(board);
    expect(closed).toBe(true);
  });

  it('close() with nothing written hands the serial back at once; after close(), write() is refused', async () => {
    const { board, fake, serial } = await setUp();
    const from = fake.received.length;
    const w = serial.streamWriter({ chunkSize: 4 });
    const closing = w.close();
    expect(w.close()).toBe(closing);
    await closing;
    expect(fake.received.length).toBe(from);
    expect(board.arenaUsage().buffers).toBe(0);
    await expect(w.write(bytes(1, 1))).rejects.toEqual(new StreamClosedError());
  });

  it('write() takes only a Uint8Array, read once', async () => {
    const { serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await expect(w.write('text' as never)).rejects.toThrow(
      'StreamWriter.write() takes a Uint8Array, not string: encode text first, e.g. new TextEncoder().encode(text)',
    );
  });

  it('close() gives up waiting at its deadline on the board’s clock, or at its signal; the stream goes on', async () => {
    const { board, fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    const late = errorOf(w.close({ timeoutMs: 100 }));
    await timers.advance(99);
    await settle();
    let settled = false;
    void late.then(() => {
      settled = true;
    });
    await settle();
    expect(settled).toBe(false);
    await timers.advance(1);
    expect(await late).toEqual(new TransferTimeoutError(100));
    expect(
      ((await errorOf(w.close({ signal: AbortSignal.abort('now') }))) as TransferAbortedError).reason,
    ).toBe('now');
    const ac = new AbortController();
    const aborted = errorOf(w.close({ signal: ac.signal, timeoutMs: 10_000 }));
    ac.abort('later');
    expect(((await aborted) as TransferAbortedError).reason).toBe('later');
    finish(fake);
    await delivered(board);
    const serial2 = await w.close({ timeoutMs: 10_000, signal: new AbortController().signal });
    expect(serial2).toBeDefined();
    expect(timers.pending).toBe(0);
  });

  it('close() that fails with the stream rejects with its failure', async () => {
    const { fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    const closing = errorOf(w.close({ timeoutMs: 10_000 }));
    emitDma(fake, 1, DMA_TE, { cndtr: 1 });
    expect(await closing).toBeInstanceOf(DmaTransferError);
  });
});

describe('pipeFrom() and writable', () => {
  it('pipeFrom() takes one array, an iterable or an async iterable, and closes', async () => {
    const { fake, serial } = await setUp({ fake: { dmaCompletesAtOnce: true } });
    let s = await serial.streamWriter({ chunkSize: 3 }).pipeFrom(bytes(1, 4));
    s = await s.streamWriter({ chunkSize: 3 }).pipeFrom([bytes(5, 2), bytes(7, 2)]);
    async function* gen() {
      yield bytes(9, 1);
      yield bytes(10, 3);
    }
    await s.streamWriter({ chunkSize: 3 }).pipeFrom(gen());
    expect(fake.usartTx).toEqual([...bytes(1, 12)]);
  });

  it('writable: a WritableStream that writes, closes, and aborts', async () => {
    const { board, fake, serial } = await setUp({ fake: { dmaCompletesAtOnce: true } });
    const w = serial.streamWriter({ chunkSize: 4 });
    const writer = w.writable.getWriter();
    await writer.write(bytes(1, 6));
    await writer.close();
    expect(fake.usartTx).toEqual([...bytes(1, 6)]);
    await expect(w.write(bytes(1, 1))).rejects.toBeInstanceOf(StreamClosedError);
    expect(board.arenaUsage().buffers).toBe(0);

    const { serial: s2 } = await serial2(board);
    const w2 = s2.streamWriter({ chunkSize: 4 });
    await w2.writable.getWriter().abort('stop');
    await expect(w2.write(bytes(1, 1))).rejects.toBeInstanceOf(StreamAbortedError);
    expect(board.arenaUsage().buffers).toBe(0);
  });
});

/** A second Serial1 after board.recover() (the first is revoked). */
async function serial2(board: SerialOnFake['board']) {
  await board.recover();
  const { Serial1 } = await import('./serial1.ts');
  return { serial: await Serial1.take(board, { baudRate: 115_200 }) };
}

describe('abort()', () => {
  it('drops what is staged, stops the channel and counts what the DMA sent', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    drain(fake);
    await w.write(bytes(5, 6));
    await settle();
    // The second chunk is current; 3 of its 4 bytes are still to go.
    fake.registers.set(FAKE.CNDTR1, 3);
    const from = fake.received.length;
    const aborting = w.abort();
    expect(w.abort()).toBe(aborting);
    const { bytesSent, serial: s2 } = await aborting;
    expect(bytesSent).toBe(4 + 1);
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(board.arenaUsage()).toMatchObject({ buffers: 0, inTransfer: 0 });
    await expect(w.write(bytes(1, 1))).rejects.toEqual(new StreamAbortedError());
    await expect(w.close()).rejects.toBeInstanceOf(StreamAbortedError);
    await s2.writeAll(board.alloc(4)).started;
  });

  it('16-bit items: what is left counts two bytes an item', async () => {
    const { fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 8, dataSize: 16 });
    await w.write(bytes(1, 8));
    await settle();
    fake.registers.set(FAKE.CNDTR1, 1);
    expect((await w.abort()).bytesSent).toBe(6);
  });

  it('before anything started: nothing was sent', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 2));
    fake.registers.set(FAKE.CNDTR1, 3);
    expect((await w.abort()).bytesSent).toBe(0);
    expect(fake.received.filter((r) => r.command === 'mem-write')).toEqual([]);
    expect(board.arenaUsage().buffers).toBe(0);
  });

  it('no further start goes out once aborted', async () => {
    const { board, fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    void w.write(bytes(1, 8)).catch(() => {});
    await settle();
    // The second chunk's start waits to be tried again.
    const from = fake.received.length;
    const { bytesSent } = await w.abort();
    await timers.advance(100);
    expect(bytesSent).toBe(0);
    expect(sent(fake, from)).toEqual(['stop']);
    expect(board.arenaUsage().buffers).toBe(0);
  });

  it('a stop the board never confirms: rejects, and all three buffers are in doubt', async () => {
    const { board, fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    fake.onRequest = () => 'drop-reply';
    const aborting = errorOf(w.abort());
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = await aborting;
    expect(error?.name).toBe('LinkTimeoutError');
    expect(board.arenaUsage().inDoubt).toBe(12);
    expect(board.arenaRegions()[0]).toMatchObject({ holder: `streamWriter(): ${error!.message}` });
  });
});

describe('failures', () => {
  it('a DMA transfer error fails the stream with what the chunk had sent', async () => {
    const { serial, fake } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    emitDma(fake, 1, DMA_TE, { cndtr: 1 });
    const error = (await errorOf(w.close())) as DmaTransferError;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect({ channel: error.channel, transferred: error.transferred }).toEqual({
      channel: 1,
      transferred: 3,
    });
    await expect(w.write(bytes(1, 1))).rejects.toBe(error);
  });

  it('a restart the board refuses (its DMAMUX route changed behind the writer) fails the stream', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    drain(fake);
    await delivered(board);
    fake.registers.set(FAKE.C0CR, 0);
    await w.write(bytes(5, 4));
    await delivered(board);
    const error = await errorOf(w.close());
    expect(error?.name).toBe('DmaStartRefusedError');
    expect(board.arenaUsage().inDoubt).toBe(0);
  });

  it('a start never answered: in doubt, all three buffers reserved', async () => {
    const { board, fake, timers, serial } = await setUp();
    fake.onRequest = (r) => (r.command === 'reg-batch' ? 'drop-reply' : 'process');
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = (await errorOf(w.close())) as TransferInDoubtError;
    expect(error).toBeInstanceOf(TransferInDoubtError);
    expect(error.by).toBe('the StreamWriter');
    expect(board.arenaUsage().inDoubt).toBe(12);
  });

  it('an upload the board refuses fails with the refusal, not in doubt', async () => {
    const { board, fake, serial } = await setUp();
    // A DMA running over the first buffer: the board refuses to write there (and to start there).
    fake.registers.set(FAKE.CCR2, 0x81);
    fake.registers.set(FAKE.CCR2 + 4, 16);
    fake.registers.set(FAKE.CMAR2, 0x2000_4000);
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await delivered(board);
    const error = await errorOf(w.close());
    expect(error?.name).toBe('BusyError');
    expect(board.arenaUsage().inDoubt).toBe(0);
  });

  it('an upload that fails on the link after a start: in doubt', async () => {
    const { board, fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    drain(fake);
    await delivered(board);
    fake.onRequest = () => 'drop-reply';
    void w.write(bytes(5, 4)).catch(() => {});
    for (let i = 0; i < 10; i++) await timers.advance(100);
    expect(await errorOf(w.close())).toBeInstanceOf(TransferInDoubtError);
  });
});

describe('lost events', () => {
  const loseOne = (fake: FakeBoard) =>
    fake.emitEvent(
      { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
      { lose: true },
    );

  it('the last chunk done and no TC: the line is given time on the board, then the stream closes', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    fake.registers.set(FAKE.CNDTR1, 0);
    const from = fake.received.length;
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    expect(sent(fake, from)).toEqual(['status 1', 'poll USART_ISR & 0x40 == 0x40 for 239 us']);
    await w.close({ timeoutMs: 10_000 });
  });

  it('a channel still running: nothing changes', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    let closed = false;
    w.close().then(
      () => {
        closed = true;
      },
      () => {},
    );
    await delivered(board);
    expect(closed).toBe(false);
  });

  it('a channel the hardware disabled: a transfer error', async () => {
    const { board, fake, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    fake.registers.set(FAKE.CCR1, fake.reg(FAKE.CCR1) & ~1);
    fake.registers.set(FAKE.CNDTR1, 3);
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    const error = (await errorOf(w.close())) as DmaTransferError;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect(error.transferred).toBe(1);
  });

  it('a re-read the board never answers: in doubt', async () => {
    const { fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    fake.onRequest = () => 'drop-reply';
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    for (let i = 0; i < 10; i++) await timers.advance(100);
    expect(await errorOf(w.close())).toBeInstanceOf(TransferInDoubtError);
  });

  it('the safety net re-reads once the chunk should be done, then further apart; a finished stream stops it', async () => {
    const { fake, timers, serial } = await setUp();
    const w = serial.streamWriter({ chunkSize: 4 });
    await w.write(bytes(1, 4));
    await settle();
    const from = fake.received.length;
    const reads = () => sent(fake, from).filter((l) => l === 'status 1').length;
    await timers.advance(249);
    expect(reads()).toBe(0);
    await timers.advance(1);
    expect(reads()).toBe(1);
    await timers.advance(499);
    expect(reads()).toBe(1);
    await timers.advance(1);
    expect(reads()).toBe(2);
    fake.registers.set(FAKE.CNDTR1, 0);
    await timers.advance(1000);
    expect(reads()).toBe(3);
    await w.close({ timeoutMs: 10 });
    await timers.advance(20_000);
    expect(reads()).toBe(3);
    expect(timers.pending).toBe(0);
  });
});
