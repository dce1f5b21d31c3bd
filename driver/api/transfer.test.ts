/**
 * Transfer on the fake board with a manual clock: when each kind of
 * transfer completes and with what count, what wait(), stop() and disposal
 * resolve or reject with, where the buffer's memory stands in the ledger
 * meanwhile, and how lost events and the safety net's re-reads end it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MovedError } from '../board/buffer-errors.ts';
import { DmaStartRefusedError, RevokedError } from '../board/errors.ts';
import { FAKE, type FakeBoardOptions } from '../test-support/fake-board.ts';
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
  USART_BRR,
  USART_FE,
  USART_IDLE,
  USART_ORE,
  USART_TC,
} from '../test-support/serial-harness.ts';
import {
  DmaTransferError,
  SerialError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from './errors.ts';
import type { Serial1 } from './serial1.ts';

let open: SerialOnFake | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

async function setUp(options: { fake?: FakeBoardOptions } = {}): Promise<SerialOnFake> {
  open = await serialOnFake(options);
  return open;
}

const ARENA = 0x2000_4000;
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
/** The STATUS-only batches (re-reads of the channel) since `from`. */
const reReads = (fake: SerialOnFake['fake'], from: number) =>
  batchesSince(fake, from).filter((ops) => ops.length === 1 && ops[0]!.op === 'status').length;

describe('writeAll()', () => {
  it('completes when USART1’s TC follows the DMA’s: the last bit has left the wire', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.writeAll(board.alloc(4));
    await t.started;
    // A TC of the line before the DMA is done says nothing about this write's last byte.
    fake.emitUsartEvent(USART_TC);
    emitDma(fake, 1, DMA_TC);
    await delivered(board);
    expect(t.isDone()).toBe(false);
    fake.emitUsartEvent(USART_TC);
    await delivered(board);
    expect(t.isDone()).toBe(true);
    expect((await t.wait()).transferred).toBe(4);
  });

  it('the peer receives the buffer’s bytes; 16-bit items count as items', async () => {
    const { board, fake, serial } = await setUp({ fake: { dmaCompletesAtOnce: true } });
    const buffer = board.alloc(6);
    await buffer.write(Uint8Array.of(1, 2, 3, 4, 5, 6));
    const { transferred, serial: s2, buffer: b2 } = await serial.writeAll(buffer).wait();
    expect(transferred).toBe(6);
    expect(fake.usartTx).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await s2.writeAll(b2, { dataSize: 16 }).wait()).transferred).toBe(3);
  });

  it('a reception error on the line does not fail a write', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.writeAll(board.alloc(4));
    await t.started;
    fake.emitUsartEvent(USART_FE | USART_ORE);
    emitDma(fake, 1, DMA_TC);
    fake.emitUsartEvent(USART_TC);
    expect((await t.wait()).transferred).toBe(4);
  });

  it('moves the serial and the buffer in; the ledger lends the memory until the board says done', async () => {
    const { board, fake, serial } = await setUp();
    const buffer = board.alloc(4);
    const t = serial.writeAll(buffer);
    expect(() => serial.writeAll(board.alloc(4))).toThrow(
      new MovedError('this Serial1', 'writeAll()', 'use the Serial1 that wait(), stop() or close() returned'),
    );
    await expect(buffer.read()).rejects.toThrow(MovedError);
    await t.started;
    expect(board.arenaRegions()[0]).toEqual({
      address: ARENA,
      length: 4,
      state: 'lent',
      holder: 'writeAll()',
    });
    emitDma(fake, 1, DMA_TC);
    fake.emitUsartEvent(USART_TC);
    const done = await t.wait();
    expect(board.arenaRegions()[0]).toEqual({ address: ARENA, length: 4, state: 'owned' });
    expect(await done.buffer.read()).toEqual(new Uint8Array(4));
    await expect(t.wait()).rejects.toThrow(
      'this Transfer was moved by wait(); a Transfer is consumed once; keep what wait() or stop() returned',
    );
    await expect(t.stop()).rejects.toThrow(MovedError);
  });
});

describe('readExact()', () => {
  it('completes at the DMA’s TC, with the whole count', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    emitDma(fake, 1, DMA_TC);
    const { transferred } = await t.wait();
    expect(transferred).toBe(8);
  });

  it('a reception error stops the channel and fails with SerialError and the owners', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 5);
    const from = fake.received.length;
    fake.emitUsartEvent(USART_FE | USART_IDLE);
    const error = (await errorOf(t.wait())) as SerialError<Serial1>;
    expect(error).toBeInstanceOf(SerialError);
    expect({ flags: error.isrFlags, transferred: error.transferred }).toEqual({
      flags: USART_FE,
      transferred: 3,
    });
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(board.arenaRegions()[0]?.state).toBe('owned');
    const { buffer, serial: s2 } = error.recovered!;
    await s2.writeAll(buffer).started;
  });

  it('a USART event without an error flag neither fails nor ends it', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.emitUsartEvent(USART_IDLE | USART_TC);
    await delivered(board);
    expect(t.isDone()).toBe(false);
  });
});

describe('readUntilIdle()', () => {
  it('completes at an IDLE of its start after data, with the count the stop read', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 6);
    fake.emitUsartEvent(USART_IDLE);
    fake.registers.set(FAKE.CNDTR1, 5);
    expect((await t.wait()).transferred).toBe(3);
  });

  it('completes when the buffer fills before the line goes idle', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    const from = fake.received.length;
    emitDma(fake, 1, DMA_TC);
    expect((await t.wait()).transferred).toBe(8);
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
  });

  describe('firmware before 2.4 (IDLE names no start)', () => {
    const v23 = { firmwareVersion: { major: 2, minor: 3, patch: 0 } };

    it('an IDLE whose count is below what the channel shows now is an earlier one', async () => {
      const { board, fake, serial } = await setUp({ fake: v23 });
      const t = serial.readUntilIdle(board.alloc(8));
      await t.started;
      fake.registers.set(FAKE.CNDTR1, 3);
      fake.emitUsartEvent(USART_IDLE);
      fake.registers.set(FAKE.CNDTR1, 6);
      await delivered(board);
      expect(t.isDone()).toBe(false);
      // The count at the event equals the channel's now, after data: this reception's IDLE.
      fake.emitUsartEvent(USART_IDLE);
      expect((await t.wait()).transferred).toBe(2);
    });

    it('an IDLE while the channel is off ends the reception, whatever the counts', async () => {
      const { board, fake, serial } = await setUp({ fake: v23 });
      const t = serial.readUntilIdle(board.alloc(8));
      await t.started;
      fake.registers.set(FAKE.CCR1, fake.reg(FAKE.CCR1) & ~1);
      fake.emitUsartEvent(USART_IDLE);
      expect((await t.wait()).transferred).toBe(0);
    });
  });
});

describe('a start the board refuses', () => {
  /** Channel 2 runs over the start of the arena: a start of channel 1 there is refused (PROTOCOL.md §6). */
  function occupyArena(fake: SerialOnFake['fake']) {
    fake.registers.set(FAKE.CCR2, 0x81);
    fake.registers.set(FAKE.CCR2 + 4, 16);
    fake.registers.set(FAKE.CMAR2, ARENA);
  }

  it('rejects started, wait() and stop() with the refusal; the buffer and serial are usable again', async () => {
    const { board, fake, serial } = await setUp();
    occupyArena(fake);
    const buffer = board.alloc(4);
    const t = serial.writeAll(buffer);
    const refusal = await errorOf(t.started);
    expect(refusal).toBeInstanceOf(DmaStartRefusedError);
    expect(t.isDone()).toBe(true);
    expect(await errorOf(t.wait())).toBe(refusal);
    expect(board.arenaRegions()[0]).toEqual({ address: ARENA, length: 4, state: 'owned' });
    expect(board.arenaUsage().inDoubt).toBe(0);
    fake.registers.set(FAKE.CCR2, 0);
    await buffer.write(Uint8Array.of(9));
    await serial.writeAll(buffer).started;
  });

  it('stop() of a refused start rejects with the refusal too', async () => {
    const { board, fake, serial } = await setUp();
    occupyArena(fake);
    const t = serial.writeAll(board.alloc(4));
    const stopped = await errorOf(t.stop());
    expect(stopped).toBeInstanceOf(DmaStartRefusedError);
    expect(board.arenaRegions()[0]?.state).toBe('owned');
  });
});

describe('a start whose outcome never came', () => {
  it('is in doubt: the memory stays reserved and the serial moved', async () => {
    const { board, fake, timers, serial } = await setUp();
    fake.onRequest = (r) => (r.command === 'reg-batch' ? 'drop-reply' : 'process');
    const t = serial.writeAll(board.alloc(4));
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = await errorOf(t.wait());
    expect(error).toBeInstanceOf(TransferInDoubtError);
    expect((error as TransferInDoubtError).by).toBe('writeAll()');
    expect(await errorOf(t.started)).toBe(error);
    expect(board.arenaRegions()[0]).toMatchObject({
      state: 'in-doubt',
      holder: `writeAll(): ${error!.message}`,
    });
    expect(() => serial.writeAll(board.alloc(4))).toThrow(MovedError);
  });
});

describe('stop()', () => {
  it('stops the channel and counts what moved; the memory is the buffer’s again', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8, { align: 4 }), { dataSize: 32 });
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 1);
    const from = fake.received.length;
    const { transferred, serial: s2 } = await t.stop();
    expect(transferred).toBe(1);
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(board.arenaRegions()[0]?.state).toBe('owned');
    await expect(t.wait()).rejects.toThrow('this Transfer was moved by stop();');
    await s2.writeAll(board.alloc(4)).started;
  });

  it('a stop that waits for the start: sent after it', async () => {
    const { board, fake, serial } = await setUp();
    const from = fake.received.length;
    const t = serial.writeAll(board.alloc(4));
    const stopped = t.stop();
    expect((await stopped).transferred).toBe(0);
    expect(batchesSince(fake, from).map((ops) => ops.length)).toEqual([12, 2]);
  });

  it('a finished transfer just hands its owners back, nothing is sent', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    emitDma(fake, 1, DMA_TC);
    await delivered(board);
    const from = fake.received.length;
    expect((await t.stop()).transferred).toBe(8);
    expect(fake.received.length).toBe(from);
  });

  it('a stop the board never confirms: rejects, and the memory is in doubt', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.writeAll(board.alloc(4));
    await t.started;
    fake.onRequest = () => 'drop-reply';
    const stopped = errorOf(t.stop());
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = await stopped;
    expect(error?.name).toBe('LinkTimeoutError');
    expect(board.arenaRegions()[0]).toMatchObject({
      state: 'in-doubt',
      holder: `writeAll(): ${error!.message}`,
    });
    await expect(t.wait()).rejects.toThrow('this Transfer was moved by stop();');
  });
});

describe('events that come while a stop is on its way', () => {
  /** Runs `during` when the stop's batch reaches the board, before it runs. */
  function onStop(fake: SerialOnFake['fake'], during: () => void) {
    fake.onRequest = (r) => {
      if (r.command === 'reg-batch' && describeOps(r.ops)[0] === 'CCR1 = 0x0 in 0x1') {
        fake.onRequest = undefined;
        during();
      }
      return 'process';
    };
  }

  it('a DMA TC does not end it: the stop’s count does', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 3);
    onStop(fake, () => emitDma(fake, 1, DMA_TC));
    expect((await t.stop()).transferred).toBe(5);
  });

  it('a reception error does not fail it', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 6);
    onStop(fake, () => fake.emitUsartEvent(USART_FE));
    expect((await t.stop()).transferred).toBe(2);
  });

  it('an IDLE of firmware before 2.4 does not make it read the channel', async () => {
    const { board, fake, serial } = await setUp({
      fake: { firmwareVersion: { major: 2, minor: 3, patch: 0 } },
    });
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 6);
    const from = fake.received.length;
    onStop(fake, () => fake.emitUsartEvent(USART_IDLE));
    expect((await t.stop()).transferred).toBe(2);
    await delivered(board);
    expect(reReads(fake, from)).toBe(0);
  });

  it('a loss does not make it re-read the channel', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const from = fake.received.length;
    onStop(fake, () => {
      fake.emitEvent(
        { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
        { lose: true },
      );
      fake.emitUsartEvent(USART_IDLE);
    });
    await t.stop();
    await delivered(board);
    expect(reReads(fake, from)).toBe(0);
  });
});

describe('a stop that ends a transfer on an event, never confirmed', () => {
  /** Every request from here on goes unanswered: the stop times out on the link. */
  async function unanswered(o: SerialOnFake, t: { wait(): Promise<unknown> }) {
    o.fake.onRequest = () => 'drop-reply';
    const failed = errorOf(t.wait());
    for (let i = 0; i < 10; i++) await o.timers.advance(100);
    const error = await failed;
    expect(error?.name).toBe('LinkTimeoutError');
    expect(o.board.arenaRegions()[0]).toMatchObject({ state: 'in-doubt' });
  }

  it('after a transfer error', async () => {
    const o = await setUp();
    const t = o.serial.writeAll(o.board.alloc(8));
    await t.started;
    emitDma(o.fake, 1, DMA_TE, { cndtr: 5 });
    await unanswered(o, t);
  });

  it('after a reception error', async () => {
    const o = await setUp();
    const t = o.serial.readExact(o.board.alloc(8));
    await t.started;
    o.fake.emitUsartEvent(USART_FE);
    await unanswered(o, t);
  });

  it('after an IDLE', async () => {
    const o = await setUp();
    const t = o.serial.readUntilIdle(o.board.alloc(8));
    await t.started;
    o.fake.registers.set(FAKE.CNDTR1, 5);
    o.fake.emitUsartEvent(USART_IDLE);
    await unanswered(o, t);
  });

  it('a stop asked for meanwhile sends no second one', async () => {
    const o = await setUp();
    const t = o.serial.writeAll(o.board.alloc(8));
    await t.started;
    const from = o.fake.received.length;
    emitDma(o.fake, 1, DMA_TE, { cndtr: 5 });
    await settle();
    const error = await errorOf(t.stop());
    expect(error).toBeInstanceOf(DmaTransferError);
    expect(batchesSince(o.fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
  });
});

describe('firmware before 2.4: an IDLE whose channel cannot be read back', () => {
  it('ends the reception by a stop (which would read the count)', async () => {
    const o = await setUp({ fake: { firmwareVersion: { major: 2, minor: 3, patch: 0 } } });
    const t = o.serial.readUntilIdle(o.board.alloc(8));
    await t.started;
    o.fake.registers.set(FAKE.CNDTR1, 5);
    // The re-read's request is never answered; the stop after it is.
    let unread: number | undefined;
    o.fake.onRequest = (r) => {
      if (r.command === 'reg-batch' && r.ops.length === 1) unread ??= r.seq;
      return r.seq === unread ? 'drop-reply' : 'process';
    };
    o.fake.emitUsartEvent(USART_IDLE);
    const done = errorOf(t.wait());
    for (let i = 0; i < 10; i++) await o.timers.advance(100);
    // The stop after it was tried, and refused on the host: the link gave up the session.
    const error = await done;
    expect(error?.message).toMatch(/the session was abandoned/);
    expect(o.board.arenaRegions()[0]).toMatchObject({ state: 'in-doubt' });
  });
});

describe('wait() options', () => {
  it('a timeout rejects and leaves the transfer running', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    const error = await errorOf(t.wait({ timeoutMs: 1 }));
    expect(error).toEqual(new TransferTimeoutError(1));
    expect(t.isDone()).toBe(false);
    emitDma(fake, 1, DMA_TC);
    expect((await t.wait({ timeoutMs: 10_000 })).transferred).toBe(8);
  });

  it('an abort, before or during the wait, rejects with its reason and leaves the transfer running', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    const early = (await errorOf(t.wait({ signal: AbortSignal.abort('early') }))) as TransferAbortedError;
    expect(early).toBeInstanceOf(TransferAbortedError);
    expect(early.reason).toBe('early');
    const ac = new AbortController();
    const waiting = errorOf(t.wait({ signal: ac.signal }));
    ac.abort('late');
    expect(((await waiting) as TransferAbortedError).reason).toBe('late');
    expect(t.isDone()).toBe(false);
    emitDma(fake, 1, DMA_TC);
    expect((await t.wait({ signal: new AbortController().signal })).transferred).toBe(8);
  });

  it('several waits end together', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const first = t.wait({ timeoutMs: 10_000 });
    const second = errorOf(t.wait());
    emitDma(fake, 1, DMA_TC);
    expect((await first).transferred).toBe(8);
    expect(await second).toBeInstanceOf(MovedError);
  });
});

describe('a DMA transfer error (TE)', () => {
  it('stops the channel and fails with DmaTransferError, the count from the stop', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.writeAll(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 3);
    const from = fake.received.length;
    emitDma(fake, 1, DMA_TE, { cndtr: 5 });
    const error = (await errorOf(t.wait())) as DmaTransferError<unknown>;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect({ channel: error.channel, transferred: error.transferred }).toEqual({
      channel: 1,
      transferred: 5,
    });
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect(board.arenaRegions()[0]?.state).toBe('owned');
    expect(error.recovered).toBeDefined();
  });

  it('the event’s count when the channel reads back 0', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.writeAll(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    emitDma(fake, 1, DMA_TE, { cndtr: 5 });
    expect(((await errorOf(t.wait())) as DmaTransferError).transferred).toBe(3);
  });

  it('ignores events once the transfer is over: nothing more is sent', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    emitDma(fake, 1, DMA_TC);
    await delivered(board);
    const from = fake.received.length;
    emitDma(fake, 1, DMA_TE);
    fake.emitUsartEvent(USART_FE);
    fake.emitEvent(
      { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
      { lose: true },
    );
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    expect(batchesSince(fake, from)).toEqual([]);
    expect((await t.wait()).transferred).toBe(8);
  });

  it('a half-transfer event ends nothing', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    emitDma(fake, 1, 1 << 2);
    await delivered(board);
    expect(t.isDone()).toBe(false);
  });
});

describe('lost events: the transfer reads the channel and infers what they said', () => {
  const loseOne = (fake: SerialOnFake['fake']) =>
    fake.emitEvent(
      { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
      { lose: true },
    );

  it('a channel still running: nothing changes', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const from = fake.received.length;
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    expect(reReads(fake, from)).toBe(1);
    expect(t.isDone()).toBe(false);
  });

  it('a reception whose count reached 0 is complete', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    const from = fake.received.length;
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    expect((await t.wait()).transferred).toBe(8);
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['status 1']]);
  });

  it('a write whose count reached 0 is complete once the line had time to send the last characters', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.writeAll(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    const from = fake.received.length;
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    expect((await t.wait()).transferred).toBe(8);
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      ['status 1'],
      ['poll USART_ISR & 0x40 == 0x40 for 239 us'],
    ]);
  });

  it('a write whose events end it while the re-read waits for the line: the next transfer keeps the channel', async () => {
    const { board, fake, timers, serial } = await setUp();
    const first = serial.writeAll(board.alloc(4));
    await first.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    // The wait on the board for the line: the write's events go out before its reply, which is lost once.
    let held = false;
    fake.onRequest = (r) => {
      if (held || r.command !== 'reg-batch' || !r.ops.some((o) => o.op === 'poll')) return 'process';
      held = true;
      emitDma(fake, 1, DMA_TC);
      fake.emitUsartEvent(USART_TC);
      return 'drop-reply';
    };
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    const { serial: s2, buffer } = await first.wait();
    const second = s2.writeAll(buffer);
    await timers.advance(30);
    await second.started;
    expect(held).toBe(true);
    // The first write's re-read ended after the second started: the second still hears its events.
    emitDma(fake, 1, DMA_TC);
    fake.emitUsartEvent(USART_TC);
    await delivered(board);
    expect(second.isDone()).toBe(true);
  });

  it('a reception until idle whose buffer filled is stopped and complete', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    loseOne(fake);
    fake.emitUsartEvent(USART_TC);
    expect((await t.wait()).transferred).toBe(8);
  });

  it('a channel the hardware disabled had a transfer error', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CCR1, fake.reg(FAKE.CCR1) & ~1);
    fake.registers.set(FAKE.CNDTR1, 2);
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    const error = (await errorOf(t.wait())) as DmaTransferError;
    expect(error).toBeInstanceOf(DmaTransferError);
    expect(error.transferred).toBe(6);
  });

  it('losses noticed during a re-read ask for one more, whatever their number', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const from = fake.received.length;
    let first = true;
    fake.onRequest = (r) => {
      if (first && r.command === 'reg-batch') {
        first = false;
        for (let i = 0; i < 3; i++) {
          loseOne(fake);
          fake.emitUsartEvent(USART_IDLE);
        }
      }
      return 'process';
    };
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    await delivered(board);
    expect(reReads(fake, from)).toBe(2);
    expect(t.isDone()).toBe(false);
  });

  it('a re-read that ends the transfer asks for no more, however many losses came meanwhile', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 0);
    const from = fake.received.length;
    let first = true;
    fake.onRequest = (r) => {
      if (first && r.command === 'reg-batch') {
        first = false;
        loseOne(fake);
        fake.emitUsartEvent(USART_IDLE);
      }
      return 'process';
    };
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    expect((await t.wait()).transferred).toBe(8);
    await delivered(board);
    expect(reReads(fake, from)).toBe(1);
  });

  it('a reception until idle is not taken for idle on losses alone, however often its count stands still', async () => {
    const { board, fake, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 5);
    for (let i = 0; i < 3; i++) {
      loseOne(fake);
      fake.emitUsartEvent(USART_TC);
      await delivered(board);
    }
    expect(t.isDone()).toBe(false);
  });

  it('a board that cannot be reached fails the transfer and leaves its memory in doubt', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.onRequest = () => 'drop-reply';
    loseOne(fake);
    fake.emitUsartEvent(USART_IDLE);
    await settle();
    for (let i = 0; i < 10; i++) await timers.advance(100);
    const error = await errorOf(t.wait());
    expect(error).toBeInstanceOf(Error);
    expect(board.arenaRegions()[0]).toMatchObject({
      state: 'in-doubt',
      holder: `readExact(): ${error!.message}`,
    });
  });
});

describe('the safety net: re-reads once the transfer should be over, then further apart', () => {
  it('the first when the transfer should be over plus a margin, then 0.5, 1, 2, 4, 5, 5 s later', async () => {
    const { board, fake, timers, serial } = await setUp({ fake: { arenaSize: 0x8000 } });
    // 4000 characters of 86.875 µs: 347.5 ms, × 1.25 = 434.4, + 100.
    const t = serial.readExact(board.alloc(4000));
    await t.started;
    const from = fake.received.length;
    await timers.advance(534);
    expect(reReads(fake, from)).toBe(0);
    await timers.advance(1);
    expect(reReads(fake, from)).toBe(1);
    const gaps = [500, 1000, 2000, 4000, 5000, 5000];
    for (const [i, gap] of gaps.entries()) {
      await timers.advance(gap - 1);
      expect(reReads(fake, from)).toBe(i + 1);
      await timers.advance(1);
      expect(reReads(fake, from)).toBe(i + 2);
    }
    expect(t.isDone()).toBe(false);
  });

  it('a short transfer is re-read after 250 ms, and a finished one never again', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const from = fake.received.length;
    await timers.advance(249);
    expect(reReads(fake, from)).toBe(0);
    fake.registers.set(FAKE.CNDTR1, 0);
    await timers.advance(1);
    expect(reReads(fake, from)).toBe(1);
    expect(t.isDone()).toBe(true);
    expect(timers.pending).toBe(0);
  });

  it('a transfer ending by its event cancels the re-reads', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    expect(timers.pending).toBe(1);
    emitDma(fake, 1, DMA_TC);
    await t.wait();
    expect(timers.pending).toBe(0);
  });

  it('a reception until idle whose IDLE was lost: complete once its count stood still and RX is not busy', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 5);
    await timers.advance(250);
    expect(t.isDone()).toBe(false);
    // Still receiving (ISR.BUSY): not yet.
    fake.usartErrors = 1 << 16;
    await timers.advance(500);
    expect(t.isDone()).toBe(false);
    fake.usartErrors = 0;
    await timers.advance(1000);
    expect((await t.wait()).transferred).toBe(3);
  });

  it('a fixed-length reception whose count stands still goes on', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 5);
    await timers.advance(250 + 500 + 1000);
    expect(t.isDone()).toBe(false);
  });

  it('a re-read asked for by a loss during a safety re-read is not a safety re-read', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 5);
    let first = true;
    fake.onRequest = (r) => {
      if (first && r.command === 'reg-batch') {
        first = false;
        fake.emitEvent(
          { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
          { lose: true },
        );
        fake.emitUsartEvent(USART_TC);
      }
      return 'process';
    };
    await timers.advance(250);
    await delivered(board);
    // Two reads with the same count, but only one of them a safety re-read: not yet idle.
    expect(t.isDone()).toBe(false);
  });

  it('with no rate known, the first re-read is after 250 ms', async () => {
    const { board, fake, timers, serial } = await setUp();
    fake.registers.set(USART_BRR, 8);
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const from = fake.received.length;
    await timers.advance(249);
    expect(reReads(fake, from)).toBe(0);
    await timers.advance(1);
    expect(reReads(fake, from)).toBe(1);
  });

  it('a reception until idle that received nothing goes on', async () => {
    const { board, timers, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    await timers.advance(250 + 500 + 1000);
    expect(t.isDone()).toBe(false);
  });

  it('a reception until idle whose count moved between re-reads goes on', async () => {
    const { board, fake, timers, serial } = await setUp();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.registers.set(FAKE.CNDTR1, 6);
    await timers.advance(250);
    fake.registers.set(FAKE.CNDTR1, 5);
    await timers.advance(500);
    expect(t.isDone()).toBe(false);
    await timers.advance(1000);
    expect((await t.wait()).transferred).toBe(3);
  });
});

describe('disposal', () => {
  it('`await using` stops a running transfer and frees its allocation once the stop is confirmed', async () => {
    const { board, serial } = await setUp();
    const size = board.arenaUsage().free;
    {
      await using t = serial.writeAll(board.alloc(64));
      await t.started;
      expect(board.arenaUsage().inTransfer).toBe(64);
    }
    expect(board.arenaUsage()).toMatchObject({ free: size, inTransfer: 0, owned: 0, buffers: 0 });
  });

  it('a view is unlocked, not freed; a transfer already waited on is left alone', async () => {
    const { board, fake, serial } = await setUp();
    const whole = board.alloc(16);
    const t = serial.readExact(whole.subarray(0, 8));
    await t.started;
    await t[Symbol.asyncDispose]();
    expect(board.arenaUsage()).toMatchObject({ owned: 16, inTransfer: 0 });
    await whole.read();
    const from = fake.received.length;
    await t[Symbol.asyncDispose]();
    expect(fake.received.length).toBe(from);
  });

  it('a transfer that failed is disposed of without a word', async () => {
    const { board, fake, serial } = await setUp();
    fake.registers.set(FAKE.CCR2, 0x81);
    fake.registers.set(FAKE.CCR2 + 4, 16);
    fake.registers.set(FAKE.CMAR2, ARENA);
    const t = serial.writeAll(board.alloc(4));
    await t[Symbol.asyncDispose]();
    expect(board.arenaUsage().owned).toBe(4);
  });
});

describe('the end of the board', () => {
  it('board.recover() fails a running transfer with RevokedError; its memory is reclaimed', async () => {
    const { board, serial } = await setUp();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    await board.recover();
    expect(await errorOf(t.wait())).toBeInstanceOf(RevokedError);
    expect(board.arenaUsage().inTransfer).toBe(0);
  });
});
