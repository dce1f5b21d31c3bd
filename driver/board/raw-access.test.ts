/**
 * board.raw and the ledger: a raw write to a DMA channel's CCR is read back
 * from the board, and the range the channel runs on (its memory address,
 * count and sizes as the board has them) is kept out of the allocator until
 * the channel is seen off; what cannot be read back puts the whole arena in
 * doubt. Anything else sent raw costs no extra request.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage, type Reply, Status } from '../protocol/index.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, type FakeBoard } from '../test-support/fake-board.ts';
import type { BatchBuilder } from './batch.ts';

const ARENA = 0x2000_4000;
const SIZE = 0x4000;
const CNDTR2 = FAKE.CCR2 + 4;
const CPAR2 = FAKE.CCR2 + 8;

/** CCR bits (RM0444 §11.6.3). */
const EN = 1;
const DIR = 1 << 4;
const CIRC = 1 << 5;
const MINC = 1 << 7;
const MSIZE16 = 1 << 10;
const PSIZE16 = 1 << 8;

const HOLDER1 = 'a raw start of DMA1 channel 1';

/** Channel 1 set up to transmit `count` items from `address`, not yet enabled. */
const setUp1 = (b: BatchBuilder, address: number, count: number) =>
  b
    .write(FAKE.CNDTR1, count)
    .write(FAKE.CPAR1, FAKE.USART_TDR)
    .write(FAKE.CMAR1, address)
    .write(FAKE.C0CR, 51);

const held = (board: { arenaRegions(): readonly { state: string }[] }) =>
  board.arenaRegions().filter((r) => r.state !== 'free');

const batches = (fake: FakeBoard) => fake.received.filter((r) => r.command === 'reg-batch').length;

describe('a raw DMA start', () => {
  it('keeps the range it runs on out of the allocator until the channel is stopped', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    const r = await board.raw.batch((b) => setUp1(b, ARENA + 0x100, 8).write(FAKE.CCR1, EN | DIR | MINC));
    expect(r.failure).toBeUndefined();
    expect(held(board)).toEqual([{ address: ARENA + 0x100, length: 8, state: 'in-doubt', holder: HOLDER1 }]);
    expect(board.arenaUsage()).toMatchObject({ inDoubt: 8, buffers: 0 });
    await board.raw.writeRegister(FAKE.CCR1, 0);
    expect(held(board)).toEqual([]);
    expect(board.arenaUsage().free).toBe(SIZE);
    await board.close();
  });

  it('made by writeRegister alone is read back too', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) => setUp1(b, ARENA + 0x40, 12));
    await board.raw.writeRegister(FAKE.CCR1, EN | DIR | MINC);
    expect(held(board)).toEqual([{ address: ARENA + 0x40, length: 12, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('made by a masked write of CCR is read back, its count the one the channel has', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) => setUp1(b, ARENA, 16));
    await board.raw.batch((b) => b.maskedWrite(FAKE.CCR1, 0xffff, EN | DIR | MINC | CIRC));
    expect(held(board)).toEqual([{ address: ARENA, length: 16, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('of both channels in one batch: each range read back at its place', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) =>
      setUp1(b, ARENA + 0x200, 4)
        .write(CNDTR2, 6)
        .write(CPAR2, FAKE.USART_RDR)
        .write(FAKE.CMAR2, ARENA + 0x400)
        .write(FAKE.C1CR, 50)
        .write(FAKE.CCR1, EN | DIR | MINC)
        .write(FAKE.CCR2, EN | MINC | MSIZE16 | PSIZE16),
    );
    expect(held(board)).toEqual([
      { address: ARENA + 0x200, length: 4, state: 'in-doubt', holder: HOLDER1 },
      { address: ARENA + 0x400, length: 12, state: 'in-doubt', holder: 'a raw start of DMA1 channel 2' },
    ]);
    await board.close();
  });

  it('covers count × item size with memory increment, one item without', async () => {
    const { board } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) =>
      setUp1(b, ARENA + 0x100, 10).write(FAKE.CCR1, EN | DIR | MINC | MSIZE16 | PSIZE16),
    );
    expect(held(board)).toEqual([{ address: ARENA + 0x100, length: 20, state: 'in-doubt', holder: HOLDER1 }]);
    await board.raw.writeRegister(FAKE.CCR1, 0);
    await board.raw.batch((b) => setUp1(b, ARENA + 0x300, 10).write(FAKE.CCR1, EN | DIR | MSIZE16 | PSIZE16));
    expect(held(board)).toEqual([{ address: ARENA + 0x300, length: 2, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('that completed at once holds nothing; a circular one runs on, over the count it started with', async () => {
    // The fake's DMA finishes at once and leaves CNDTR at 0: a circular channel's count is the one before.
    const { board } = await openBoardOnFake();
    await board.raw.batch((b) => setUp1(b, ARENA, 8).write(FAKE.CCR1, EN | DIR | MINC));
    expect(held(board)).toEqual([]);
    await board.raw.writeRegister(FAKE.CCR1, 0);
    await board.raw.batch((b) => setUp1(b, ARENA + 0x20, 8));
    await board.raw.writeRegister(FAKE.CCR1, EN | DIR | MINC | CIRC);
    expect(held(board)).toEqual([{ address: ARENA + 0x20, length: 8, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('a circular one whose count is written in the same batch, plainly or masked, covers that count', async () => {
    const { board } = await openBoardOnFake();
    await board.raw.batch((b) => setUp1(b, ARENA, 24).write(FAKE.CCR1, EN | DIR | MINC | CIRC));
    expect(held(board)).toEqual([{ address: ARENA, length: 24, state: 'in-doubt', holder: HOLDER1 }]);
    await board.raw.writeRegister(FAKE.CCR1, 0);
    await board.raw.batch((b) =>
      b
        .write(FAKE.CPAR1, FAKE.USART_TDR)
        .write(FAKE.CMAR1, ARENA + 0x80)
        .write(FAKE.C0CR, 51)
        .maskedWrite(FAKE.CNDTR1, 0xffff, 12)
        .maskedWrite(FAKE.CCR1, 0xffff, EN | DIR | MINC | CIRC),
    );
    expect(held(board)).toEqual([{ address: ARENA + 0x80, length: 12, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('covers the larger of the count before and one written; a masked write may keep any bit of the one before', async () => {
    const { board } = await openBoardOnFake();
    const circular = EN | DIR | MINC | CIRC;
    // The count before is 8; 4 is written in the batch that starts: either may be the one used.
    await board.raw.batch((b) => setUp1(b, ARENA, 8));
    await board.raw.batch((b) => b.write(FAKE.CNDTR1, 4).write(FAKE.CCR1, circular));
    expect(held(board)).toEqual([{ address: ARENA, length: 8, state: 'in-doubt', holder: HOLDER1 }]);
    await board.raw.writeRegister(FAKE.CCR1, 0);
    // 8 before, 4 masked in: up to 8 | 4.
    await board.raw.batch((b) => b.write(FAKE.CNDTR1, 8));
    await board.raw.batch((b) => b.maskedWrite(FAKE.CNDTR1, 0x7, 4).write(FAKE.CCR1, circular));
    expect(held(board)).toEqual([{ address: ARENA, length: 12, state: 'in-doubt', holder: HOLDER1 }]);
    await board.close();
  });

  it('that cannot be read back puts the whole arena in doubt until the channel is seen off', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    fake.onRequest = (r) => {
      if (r.command !== 'reg-batch' || !r.ops.some((op) => op.op === 'status')) return 'process';
      fake.onRequest = undefined;
      const reply = { command: 'reg-batch', executed: 0, values: [], result: { status: Status.BUSY } };
      fake.sendRaw(encodeMessage({ kind: 'reply', mark: fake.mark, seq: r.seq, ...reply } as Reply));
      return 'drop-reply';
    };
    await board.raw.batch((b) => setUp1(b, ARENA, 8).write(FAKE.CCR1, EN | DIR | MINC));
    expect(held(board)).toEqual([{ address: ARENA, length: SIZE, state: 'in-doubt', holder: HOLDER1 }]);
    await board.raw.writeRegister(FAKE.CCR1, 0);
    expect(held(board)).toEqual([]);
    await board.close();
  });

  it("seen off, leaves another channel's running range out of the allocator", async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    // Channel 1's start cannot be read back: the whole arena is held for it.
    fake.onRequest = (r) => {
      if (r.command !== 'reg-batch' || !r.ops.some((op) => op.op === 'status')) return 'process';
      fake.onRequest = undefined;
      const reply = { command: 'reg-batch', executed: 0, values: [], result: { status: Status.BUSY } };
      fake.sendRaw(encodeMessage({ kind: 'reply', mark: fake.mark, seq: r.seq, ...reply } as Reply));
      return 'drop-reply';
    };
    await board.raw.batch((b) => setUp1(b, ARENA, 8).write(FAKE.CCR1, EN | DIR | MINC));
    // Channel 2 starts on [0x100, 0x140), read back.
    await board.raw.batch((b) =>
      b
        .write(CNDTR2, 0x40)
        .write(CPAR2, FAKE.USART_RDR)
        .write(FAKE.CMAR2, ARENA + 0x100)
        .write(FAKE.C1CR, 50)
        .write(FAKE.CCR2, EN | MINC),
    );
    await board.raw.writeRegister(FAKE.CCR1, 0);
    expect(held(board)).toEqual([
      { address: ARENA + 0x100, length: 0x40, state: 'in-doubt', holder: 'a raw start of DMA1 channel 2' },
    ]);
    expect(() => board.alloc(SIZE)).toThrow(/64 bytes are in doubt or leaked/);
    await board.close();
  });

  it('whose count before it cannot be read puts the whole arena in doubt', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    await board.raw.batch((b) => setUp1(b, ARENA, 8));
    fake.onRequest = (r) => {
      if (r.command !== 'reg-batch' || r.ops.some((op) => op.op !== 'read')) return 'process';
      fake.onRequest = undefined;
      const reply = { command: 'reg-batch', executed: 0, values: [], result: { status: Status.BUSY } };
      fake.sendRaw(encodeMessage({ kind: 'reply', mark: fake.mark, seq: r.seq, ...reply } as Reply));
      return 'drop-reply';
    };
    await board.raw.writeRegister(FAKE.CCR1, EN | DIR | MINC);
    expect(board.arenaUsage()).toMatchObject({ inDoubt: SIZE, free: 0 });
    await board.close();
  });
});

describe('raw access that starts nothing', () => {
  it('costs no read-back: a read of CCR, a write elsewhere', async () => {
    const { board, fake } = await openBoardOnFake({ fake: { dmaCompletesAtOnce: false } });
    let before = batches(fake);
    await board.raw.batch((b) => b.read(FAKE.CCR1).read(FAKE.CCR2).poll(FAKE.CCR1, 1, 0));
    expect(batches(fake) - before).toBe(1);
    before = fake.received.length;
    await board.raw.writeRegister(FAKE.CMAR1, ARENA);
    expect(fake.received.slice(before).map((r) => r.command)).toEqual(['reg-write']);
    await board.close();
  });

  it('a raw memory write takes only a Uint8Array', async () => {
    const { board } = await openBoardOnFake();
    await expect(board.raw.writeMemory(ARENA, [1, 2] as unknown as Uint8Array)).rejects.toThrow(
      'board.raw.writeMemory() takes a Uint8Array, not another object: encode text first, e.g. new TextEncoder().encode(text)',
    );
    await board.close();
  });
});
