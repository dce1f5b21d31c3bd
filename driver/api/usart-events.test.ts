/**
 * What a transfer does with USART events (PROTOCOL.md §3): an event acts on
 * a transfer only when it names the transfer's start. Events are sent in
 * order here (the fake board's line loses and reorders nothing), so an event
 * of an earlier transfer stands for one that reached the host late; the
 * seam tests (test/seams/stale-usart-event.test.ts) delay real ones on the
 * line of the virtual board.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Board } from '../board/board.ts';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE, type FakeBoard, type FakeBoardOptions } from '../test-support/fake-board.ts';
import { ManualTimers, settle } from '../test-support/manual-timers.ts';
import { SerialError } from './errors.ts';
import { Serial1, serialSideOf } from './serial1.ts';

const TC = 1 << 6;
const IDLE = 1 << 4;
const FE = 1 << 1;

let open: { board: Board; fake: FakeBoard } | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

/**
 * A board on the fake with Serial1 taken. Time stands still (the transfers'
 * safety-net re-reads never run), so only the events decide.
 */
async function take(fake: FakeBoardOptions = {}) {
  const timers = new ManualTimers();
  open = await openBoardOnFake({ board: { timers }, fake: { dmaCompletesAtOnce: false, ...fake } });
  const warnings: string[] = [];
  const serial = await Serial1.take(open.board, { baudRate: 115_200, onWarning: (m) => warnings.push(m) });
  return { ...open, serial, warnings, engine: serialSideOf(serial).engine };
}

/** Lets the events the fake sent reach the transfer. */
const delivered = async (board: Board) => {
  await board.ping();
  await settle();
};

describe('USART events name the transfer they belong to (firmware 2.4)', () => {
  it('a writeAll() ends at the TC that names its start, not at one of an earlier write', async () => {
    const { board, fake, serial, engine, warnings } = await take({
      dmaCompletesAtOnce: true,
      lineIdleAtOnce: false,
    });
    const t = serial.writeAll(board.alloc(4));
    await t.started;
    await delivered(board); // its DMA TC: only the line is left
    const own = fake.startsOf(1);
    fake.emitUsartEvent(TC, { starts: [(own - 1) & 0xffff, fake.startsOf(2)] });
    await delivered(board);
    expect({ done: t.isDone(), ignored: engine.staleUsartEvents }).toEqual({ done: false, ignored: 1 });
    fake.emitUsartEvent(TC);
    await delivered(board);
    expect(t.isDone()).toBe(true);
    expect((await t.wait()).transferred).toBe(4);
    expect(warnings).toEqual([]);
  });

  it('a readExact() fails on its own framing error, not on one of an earlier reception', async () => {
    const { board, fake, serial } = await take();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    fake.emitUsartEvent(FE, { starts: [(fake.startsOf(1) - 1) & 0xffff, fake.startsOf(2)] });
    await delivered(board);
    expect(t.isDone()).toBe(false);
    fake.emitUsartEvent(FE);
    const error = await t.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerialError);
    expect((error as SerialError).kinds).toEqual(['framing']);
  });

  it('a readUntilIdle() ends at an IDLE of its start after data, without reading the channel first', async () => {
    const { board, fake, serial, engine } = await take();
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    // Its own IDLE with nothing received since the start: the character
    // before it came before the start and was dropped.
    fake.emitUsartEvent(IDLE);
    // An earlier reception's IDLE, after data of its own.
    fake.registers.set(FAKE.CNDTR1, 5);
    fake.emitUsartEvent(IDLE, { starts: [(fake.startsOf(1) - 1) & 0xffff, fake.startsOf(2)] });
    await delivered(board);
    expect({ done: t.isDone(), ignored: engine.staleUsartEvents }).toEqual({ done: false, ignored: 1 });
    const batches = fake.received.filter((r) => r.command === 'reg-batch').length;
    fake.emitUsartEvent(IDLE);
    const { transferred } = await t.wait();
    expect(transferred).toBe(3);
    // One request: the stop (which reads the count), no read-back before it.
    expect(fake.received.filter((r) => r.command === 'reg-batch').length - batches).toBe(1);
  });
});

describe('USART events of firmware before 2.4 name no start', () => {
  const v23 = { firmwareVersion: { major: 2, minor: 3, patch: 0 } };

  it('Serial1.take() says so and names the fix', async () => {
    const { warnings } = await take(v23);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/firmware 2\.3\.0 .*without start numbers.*dma-bridge flash/);
  });

  it('a writeAll() still ends at a TC sent after its start was answered', async () => {
    const { board, fake, serial } = await take({ ...v23, dmaCompletesAtOnce: true, lineIdleAtOnce: false });
    const t = serial.writeAll(board.alloc(4));
    await t.started;
    await delivered(board);
    expect(t.isDone()).toBe(false);
    fake.emitUsartEvent(TC);
    expect((await t.wait()).transferred).toBe(4);
  });

  it('a readUntilIdle() checks an IDLE against its channel read back', async () => {
    const { board, fake, serial } = await take(v23);
    const t = serial.readUntilIdle(board.alloc(8));
    await t.started;
    fake.emitUsartEvent(IDLE); // the channel shows nothing received: not this reception's
    await delivered(board);
    expect(t.isDone()).toBe(false);
    fake.registers.set(FAKE.CNDTR1, 6);
    fake.emitUsartEvent(IDLE);
    expect((await t.wait()).transferred).toBe(2);
  });
});
