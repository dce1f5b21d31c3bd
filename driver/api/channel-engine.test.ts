/**
 * The channel engine: what one start sends to the board, which events it
 * hands to the operation (those that name its start, and those held while
 * its reply was on its way), and what stop, readState and settleLine send.
 */
import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Board } from '../board/board.ts';
import { lendBuffer } from '../board/dma-buffer.ts';
import { PollTimeoutError, RevokedError } from '../board/errors.ts';
import { FAKE, type FakeBoardOptions } from '../test-support/fake-board.ts';
import { settle } from '../test-support/manual-timers.ts';
import {
  batchesSince,
  DMA_HT,
  DMA_TC,
  delivered,
  describeOps,
  emitDma,
  engineOf,
  type SerialOnFake,
  serialOnFake,
  USART_BRR,
  USART_FE,
  USART_IDLE,
  USART_TC,
} from '../test-support/serial-harness.ts';
import type { ChannelEngine, OperationSink, StartSpec } from './channel-engine.ts';
import { itemsFor } from './channel-engine.ts';
import { settleChannelOptions } from './channel-options.ts';
import { AlignmentError, ChannelBusyError } from './errors.ts';

let open: SerialOnFake | undefined;
afterEach(async () => {
  await open?.board.close();
  open = undefined;
});

async function setUp(
  options: { fake?: FakeBoardOptions; hello?: { usart1ClockHz?: number }; baudRate?: number } = {},
): Promise<SerialOnFake & { engine: ChannelEngine }> {
  open = await serialOnFake(options);
  return { ...open, engine: engineOf(open.serial) };
}

/** A sink that writes down what it hears, in order. */
function recorder() {
  const log: string[] = [];
  const sink: OperationSink = {
    dma: (e) => log.push(`dma start ${e.starts} flags ${e.flags}`),
    usart: (e) => log.push(`usart flags ${e.flags}`),
    eventsLost: (suspected) => log.push(`lost suspected=${suspected}`),
    gone: (error) => log.push(`gone ${error.name}: ${error.message}`),
    accepted: () => log.push('accepted'),
  };
  return { log, sink };
}

/** A start spec over a fresh allocation of `length` bytes. */
function spec(board: Board, engine: ChannelEngine, length = 4, extra: Partial<StartSpec> = {}): StartSpec {
  const loan = lendBuffer(board.alloc(length), 'test', engine.lendTarget);
  return {
    direction: 'to-peripheral',
    memory: { loan },
    options: settleChannelOptions(undefined, 'test'),
    ...extra,
  };
}

const TDR = '0x40013828';
const RDR = '0x40013824';

describe('a start is one batch', () => {
  it('writeAll(): route, program, clear TC, enable TCIE and DMAT, enable the channel last, then STATUS and BRR', async () => {
    const { board, fake, serial } = await setUp();
    const from = fake.received.length;
    const buffer = board.alloc(4);
    const t = serial.writeAll(buffer);
    await t.started;
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      [
        'CCR1 = 0x0',
        'DMA_IFCR = 0xf',
        'DMAMUX_C0CR = 0x33',
        'CNDTR1 = 0x4',
        `CPAR1 = ${TDR}`,
        'CMAR1 = 0x20004000',
        'USART_ICR = 0x40',
        'USART_CR1 = 0x40 in 0x40',
        'USART_CR3 = 0x80 in 0x80',
        // MINC, DIR, TCIE, TEIE, PL medium, EN
        'CCR1 = 0x109b',
        'status 1',
        'read USART_BRR',
      ],
    ]);
  });

  it('readExact() on the receive half: channel 2, RDR, RXFRQ and the error flags cleared, DMAR', async () => {
    const { board, fake, serial } = await setUp();
    const { rx } = serial.split();
    const from = fake.received.length;
    const t = rx.readExact(board.alloc(8));
    await t.started;
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      [
        'CCR2 = 0x0',
        'DMA_IFCR = 0xf0',
        'DMAMUX_C1CR = 0x32',
        'CNDTR2 = 0x8',
        `CPAR2 = ${RDR}`,
        'CMAR2 = 0x20004000',
        'USART_RQR = 0x8',
        'USART_ICR = 0xf',
        'USART_CR3 = 0x40 in 0x40',
        'CCR2 = 0x108b',
        'status 2',
        'read USART_BRR',
      ],
    ]);
  });

  it('readUntilIdle() clears and enables IDLE; 16-bit items at very high priority set PL, MSIZE and PSIZE', async () => {
    const { board, fake, serial } = await setUp();
    const from = fake.received.length;
    const t = serial.readUntilIdle(board.alloc(6), { dataSize: 16, priority: 'very-high' });
    await t.started;
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      [
        'CCR1 = 0x0',
        'DMA_IFCR = 0xf',
        'DMAMUX_C0CR = 0x32',
        'CNDTR1 = 0x3',
        `CPAR1 = ${RDR}`,
        'CMAR1 = 0x20004000',
        'USART_ICR = 0x10',
        'USART_RQR = 0x8',
        'USART_ICR = 0xf',
        'USART_CR1 = 0x10 in 0x10',
        'USART_CR3 = 0x40 in 0x40',
        'CCR1 = 0x358b',
        'status 1',
        'read USART_BRR',
      ],
    ]);
  });

  it('readCircular(): CIRC and HTIE; 32-bit items at low priority, high priority in PL', async () => {
    const { board, fake, serial } = await setUp();
    const from = fake.received.length;
    const c = serial.readCircular(board.alloc(16, { align: 4 }), { dataSize: 32, priority: 'low' });
    await c.started;
    const [ops] = batchesSince(fake, from).map(describeOps);
    expect(ops).toContain('CNDTR1 = 0x4');
    // MINC, CIRC, HTIE, TCIE, TEIE, MSIZE = PSIZE = 32 bits, PL low, EN
    expect(ops).toContain('CCR1 = 0xaaf');
    const { serial: s2, buffer } = await c.stop();
    const from2 = fake.received.length;
    await s2.writeAll(buffer, { priority: 'high' }).started;
    expect(batchesSince(fake, from2).map(describeOps)[0]).toContain('CCR1 = 0x209b');
  });

  it('a restart with the same configuration only reprograms length and memory', async () => {
    const { board, fake, engine } = await setUp();
    const first = spec(board, engine, 4);
    expect(await engine.start(first, recorder().sink)).toEqual({ ok: true });
    engine.release();
    const from = fake.received.length;
    const second = spec(board, engine, 8, { sameConfigurationAsLast: true });
    expect(await engine.start(second, recorder().sink)).toEqual({ ok: true });
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      [
        'CCR1 = 0x0',
        'DMA_IFCR = 0xf',
        'CNDTR1 = 0x8',
        'CMAR1 = 0x20004004',
        'CCR1 = 0x109b',
        'status 1',
        'read USART_BRR',
      ],
    ]);
  });

  it('a restart whose configuration differs, or that follows no successful start, is a full one', async () => {
    const { board, fake, engine } = await setUp();
    const full = (ops: string[][]) => ops.map((o) => o.includes('DMAMUX_C0CR = 0x33'));
    await engine.start(spec(board, engine, 4), recorder().sink);
    engine.release();
    let from = fake.received.length;
    // Another priority: the channel must be programmed again.
    const other = spec(board, engine, 4, {
      sameConfigurationAsLast: true,
      options: settleChannelOptions({ priority: 'high' }, 'test'),
    });
    await engine.start(other, recorder().sink);
    engine.release();
    expect(full(batchesSince(fake, from).map(describeOps))).toEqual([true]);
    // A start the board refuses leaves no configuration to build on.
    from = fake.received.length;
    const refused = await engine.start(
      spec(board, engine, 4, { afterPrevious: { timeoutUs: 100 } }),
      recorder().sink,
    );
    expect(refused).toMatchObject({ ok: false, ran: 'no' });
    await engine.start(spec(board, engine, 4, { sameConfigurationAsLast: true }), recorder().sink);
    engine.release();
    expect(full(batchesSince(fake, from).map(describeOps))).toEqual([true, true]);
    // Without the claim, always a full one.
    from = fake.received.length;
    await engine.start(spec(board, engine, 4), recorder().sink);
    expect(full(batchesSince(fake, from).map(describeOps))).toEqual([true]);
  });

  it('afterPrevious: the board first waits for the previous CNDTR to reach 0, and refuses if it does not', async () => {
    const { board, fake, engine } = await setUp();
    await engine.start(spec(board, engine, 4), recorder().sink);
    engine.release();
    const from = fake.received.length;
    const { log, sink } = recorder();
    const outcome = await engine.start(spec(board, engine, 4, { afterPrevious: { timeoutUs: 1234 } }), sink);
    const [ops] = batchesSince(fake, from).map(describeOps);
    expect(ops?.[0]).toBe('poll CNDTR1 & 0xffff == 0x0 for 1234 us');
    // CNDTR1 is still 4: nothing after the poll ran, the channel is free again.
    expect(outcome).toMatchObject({ ok: false, ran: 'no' });
    expect((outcome as { error: unknown }).error).toBeInstanceOf(PollTimeoutError);
    expect(fake.reg(FAKE.CMAR1)).toBe(0x2000_4000);
    expect(log).toEqual([]);
    expect(() => engine.assertIdle()).not.toThrow();
    fake.registers.set(FAKE.CNDTR1, 0);
    expect(await engine.start(spec(board, engine, 4, { afterPrevious: { timeoutUs: 1 } }), sink)).toEqual({
      ok: true,
    });
    expect(fake.reg(FAKE.CMAR1)).toBe(0x2000_4008);
  });
});

describe('what a start refuses before sending anything', () => {
  it('a busy channel: ChannelBusyError naming it', async () => {
    const { board, fake, engine } = await setUp();
    await engine.start(spec(board, engine), recorder().sink);
    expect(() => engine.assertIdle()).toThrow(ChannelBusyError);
    const sent = fake.received.length;
    const outcome = await engine.start(spec(board, engine), recorder().sink);
    expect(outcome).toMatchObject({ ok: false, ran: 'no' });
    expect((outcome as { error: Error }).error.message).toMatch(/^DMA1 channel 1 is still running/);
    expect(fake.received.length).toBe(sent);
  });

  it('memory no longer lent: the ledger refuses to aim at it', async () => {
    const { board, fake, engine } = await setUp();
    const s = spec(board, engine);
    s.memory.loan.restore();
    const sent = fake.received.length;
    const outcome = await engine.start(s, recorder().sink);
    expect(outcome).toMatchObject({ ok: false, ran: 'no' });
    expect(fake.received.length).toBe(sent);
    expect(() => engine.assertIdle()).not.toThrow();
  });

  it('a length that is not a whole number of items: AlignmentError', async () => {
    const { board, engine } = await setUp();
    const s = spec(board, engine, 6, { options: settleChannelOptions({ dataSize: 32 }, 'test') });
    const outcome = await engine.start(s, recorder().sink);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(AlignmentError);
  });

  it('a handle revoked by board.recover(): never sent, so it never ran', async () => {
    const { board, engine } = await setUp();
    const s = spec(board, engine);
    const recovering = board.recover();
    const outcome = await engine.start(s, recorder().sink);
    expect(outcome).toMatchObject({ ok: false, ran: 'no' });
    expect((outcome as { error: Error }).error.message).toMatch(/^board.recover\(\) stopped/);
    await recovering;
  });

  it('a start that went out and was never answered may have run', async () => {
    const { board, fake, timers, engine } = await setUp();
    const s = spec(board, engine);
    fake.onRequest = (r) => (r.command === 'reg-batch' ? 'drop-reply' : 'process');
    const outcome = engine.start(s, recorder().sink);
    for (let i = 0; i < 10; i++) await timers.advance(100);
    expect(await outcome).toMatchObject({ ok: false, ran: 'unknown' });
    expect(() => engine.assertIdle()).not.toThrow();
  });
});

describe('a start cancelled through its signal', () => {
  it('already aborted: never sent, never ran', async () => {
    const { board, fake, engine } = await setUp();
    const sent = fake.received.length;
    const why = new Error('no longer wanted');
    const outcome = await engine.start(
      spec(board, engine, 4, { signal: AbortSignal.abort(why) }),
      recorder().sink,
    );
    expect(outcome).toEqual({ ok: false, error: why, ran: 'no' });
    expect(fake.received.length).toBe(sent);
    expect(() => engine.assertIdle()).not.toThrow();
  });

  it('aborted while queued behind a full window: never sent, never ran', async () => {
    const { board, fake, timers, engine } = await setUp();
    // Four pings whose replies are lost hold the link's window (4) until they are resent.
    let held = 0;
    const from = fake.received.length;
    fake.onRequest = (r) => (r.command === 'ping' && held++ < 4 ? 'drop-reply' : 'process');
    const pings = Promise.all([1, 2, 3, 4].map(() => board.ping()));
    const ac = new AbortController();
    const outcome = engine.start(spec(board, engine, 4, { signal: ac.signal }), recorder().sink);
    await settle();
    ac.abort('changed my mind');
    await timers.advance(50);
    await pings;
    expect(await outcome).toEqual({ ok: false, error: 'changed my mind', ran: 'no' });
    expect(batchesSince(fake, from)).toEqual([]);
  });

  it('aborted once sent: the start runs and its outcome is kept', async () => {
    const { board, fake, timers, engine } = await setUp();
    let dropped = false;
    fake.onRequest = (r) => {
      if (dropped || r.command !== 'reg-batch') return 'process';
      dropped = true;
      return 'drop-reply';
    };
    const ac = new AbortController();
    const outcome = engine.start(spec(board, engine, 4, { signal: ac.signal }), recorder().sink);
    // Sent, its reply lost: it is answered once resent.
    await settle();
    ac.abort();
    await timers.advance(50);
    expect(await outcome).toEqual({ ok: true });
    expect(() => engine.assertIdle()).toThrow(ChannelBusyError);
  });
});

describe('the caller’s signal', () => {
  it('keeps no listener of the start once it is over', async () => {
    const { board, engine } = await setUp();
    const ac = new AbortController();
    await engine.start(spec(board, engine, 4, { signal: ac.signal }), recorder().sink);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('itemsFor()', () => {
  it('counts items of the data size', () => {
    expect(itemsFor(0x2000_4000, 8, 8)).toBe(8);
    expect(itemsFor(0x2000_4000, 8, 16)).toBe(4);
    expect(itemsFor(0x2000_4000, 8, 32)).toBe(2);
    expect(itemsFor(0x2000_4000, 0xffff, 8)).toBe(0xffff);
  });

  it('refuses a misaligned address or length, saying how to allocate', () => {
    expect(() => itemsFor(0x2000_4002, 8, 32)).toThrow(
      new AlignmentError(
        'a 32-bit transfer needs a buffer aligned to 4 bytes with a length that is a multiple of 4; ' +
          'this one is at 0x20004002 with 8 bytes (allocate with board.alloc(len, { align: 4 }))',
      ),
    );
    expect(() => itemsFor(0x2000_4000, 3, 16)).toThrow(AlignmentError);
  });

  it('a DMA transfer moves 1 to 65535 items', () => {
    expect(() => itemsFor(0x2000_4000, 0, 8)).toThrow(
      new RangeError('a DMA transfer moves 1 to 65535 items; 0 bytes at 8 bits is 0'),
    );
    expect(() => itemsFor(0x2000_4000, 0x1_0000, 8)).toThrow(
      new RangeError('a DMA transfer moves 1 to 65535 items; 65536 bytes at 8 bits is 65536'),
    );
  });
});

describe('one character on the line (frameMs), from the BRR the start read back', () => {
  it('is unknown before a start, then 10 bits at BRR / clock', async () => {
    const { board, fake, engine } = await setUp();
    expect(engine.frameMs).toBeUndefined();
    expect(fake.reg(USART_BRR)).toBe(556);
    await engine.start(spec(board, engine), recorder().sink);
    expect(engine.frameMs).toBe((10 * 556 * 1000) / 64_000_000);
  });

  it('a divider under 16 (or the upper half of BRR set) reads as no rate', async () => {
    const { board, fake, engine } = await setUp();
    fake.registers.set(USART_BRR, 15);
    await engine.start(spec(board, engine), recorder().sink);
    expect(engine.frameMs).toBeUndefined();
    engine.release();
    fake.registers.set(USART_BRR, 0x1_0010);
    await engine.start(spec(board, engine), recorder().sink);
    expect(engine.frameMs).toBe((10 * 16 * 1000) / 64_000_000);
  });
});

describe('events reach the operation only if they name its start', () => {
  it('a DMA event of the other channel, or of an earlier start, is not the operation’s', async () => {
    const { board, fake, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    const own = fake.startsOf(1);
    emitDma(fake, 2, DMA_TC, { starts: own });
    emitDma(fake, 1, DMA_TC, { starts: (own - 1) & 0xffff });
    emitDma(fake, 1, DMA_HT);
    await delivered(board);
    expect(log).toEqual(['accepted', `dma start ${own} flags ${DMA_HT}`]);
  });

  it('USART events that name another start are counted and dropped; those that name this one pass', async () => {
    const { board, fake, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    fake.emitUsartEvent(USART_FE, { starts: [(fake.startsOf(1) + 5) & 0xffff, fake.startsOf(2)] });
    // Channel 2's start differs: not this channel's business.
    fake.emitUsartEvent(USART_TC, { starts: [fake.startsOf(1), (fake.startsOf(2) + 1) & 0xffff] });
    await delivered(board);
    expect(log).toEqual(['accepted', `usart flags ${USART_TC}`]);
    expect(engine.staleUsartEvents).toBe(1);
  });

  it('a loss on the link, or a damaged frame that may have been an event, reaches the operation', async () => {
    const { board, fake, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    fake.emitEvent(
      { event: 'dma', channel: 2, flags: DMA_TC, cndtr: 0, ccr: 0, completions: 1, starts: 0 },
      { lose: true },
    );
    fake.emitUsartEvent(USART_IDLE);
    await delivered(board);
    fake.sendRaw(Uint8Array.of(0x03, 0x11, 0x22, 0x00));
    await delivered(board);
    expect(log).toEqual([
      'accepted',
      'lost suspected=false',
      `usart flags ${USART_IDLE}`,
      'lost suspected=true',
    ]);
  });

  it('nothing is handed to a channel with no operation', async () => {
    const { board, fake, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    engine.release();
    emitDma(fake, 1, DMA_TC);
    fake.emitUsartEvent(USART_TC);
    await delivered(board);
    expect(log).toEqual(['accepted']);
  });

  it('board.recover() ends the operation with RevokedError naming its channel, once', async () => {
    const { board, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    await board.recover();
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/^gone RevokedError: the operation on DMA1 channel 1 /);
    expect(() => engine.assertIdle()).not.toThrow();
    expect(() => engine.assertUsable()).toThrow(RevokedError);
  });

  it('a board reset or a closed link ends the operation; the channel is free', async () => {
    const { board, fake, engine } = await setUp();
    const { log, sink } = recorder();
    await engine.start(spec(board, engine), sink);
    await fake.close();
    await delivered(board).catch(() => {});
    expect(log.length).toBeGreaterThanOrEqual(2);
    expect(log[1]).toMatch(/^gone /);
    expect(() => engine.assertIdle()).not.toThrow();
  });
});

describe('events that arrive while the start is unanswered', () => {
  /**
   * The start's reply is lost once: what the board sends meanwhile reaches
   * the host before the resent request's (cached) reply.
   */
  function loseStartReplyOnce(fake: SerialOnFake['fake'], during: () => void) {
    let dropped = false;
    fake.onRequest = (r) => {
      if (dropped || r.command !== 'reg-batch' || !r.ops.some((op) => op.op === 'status')) return 'process';
      dropped = true;
      return 'drop-reply';
    };
    fake.onReplied = () => {
      if (!dropped || fake.onReplied === undefined) return;
      fake.onReplied = undefined;
      during();
    };
  }

  it('are handed over after the reply: those of this start, then a loss noticed meanwhile', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    const s = spec(board, engine);
    let own = 0;
    loseStartReplyOnce(fake, () => {
      own = fake.startsOf(1);
      emitDma(fake, 1, DMA_HT);
      emitDma(fake, 1, DMA_TC, { starts: (own - 1) & 0xffff });
      fake.emitUsartEvent(USART_FE, { starts: [(own - 1) & 0xffff, fake.startsOf(2)] });
      fake.emitUsartEvent(USART_TC);
      fake.emitUsartEvent(USART_IDLE, { lose: true });
      emitDma(fake, 1, DMA_TC);
    });
    const outcome = engine.start(s, sink);
    await timers.advance(50);
    expect(await outcome).toEqual({ ok: true });
    expect(log).toEqual([
      'accepted',
      `dma start ${own} flags ${DMA_HT}`,
      `usart flags ${USART_TC}`,
      `dma start ${own} flags ${DMA_TC}`,
      'lost suspected=true',
    ]);
    expect(engine.staleUsartEvents).toBe(1);
  });

  it('a sink that ends its operation on one hears none of the rest, nor the loss', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    const ending: OperationSink = {
      ...sink,
      dma: (e) => {
        sink.dma(e);
        engine.release();
      },
    };
    loseStartReplyOnce(fake, () => {
      emitDma(fake, 1, DMA_HT);
      emitDma(fake, 1, DMA_TC);
      fake.emitUsartEvent(USART_IDLE, { lose: true });
      fake.emitUsartEvent(USART_TC);
    });
    const outcome = engine.start(spec(board, engine), ending);
    await timers.advance(50);
    await outcome;
    expect(log).toEqual(['accepted', `dma start ${fake.startsOf(1)} flags ${DMA_HT}`]);
  });

  it('an operation that ended before its start’s reply came is not armed', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    loseStartReplyOnce(fake, () => emitDma(fake, 1, DMA_TC));
    const outcome = engine.start(spec(board, engine), sink);
    await settle();
    engine.release();
    await timers.advance(50);
    expect(await outcome).toEqual({ ok: true });
    emitDma(fake, 1, DMA_TC);
    await delivered(board);
    expect(log).toEqual([]);
    expect(() => engine.assertIdle()).not.toThrow();
  });

  it('more than 32 count as a loss', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    loseStartReplyOnce(fake, () => {
      for (let i = 0; i < 33; i++) emitDma(fake, 1, DMA_HT, { completions: i });
    });
    const outcome = engine.start(spec(board, engine), sink);
    await timers.advance(50);
    await outcome;
    expect(log.filter((l) => l.startsWith('dma'))).toHaveLength(32);
    expect(log.at(-1)).toBe('lost suspected=true');
  });

  it('exactly 32 are all handed over, with no loss', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    loseStartReplyOnce(fake, () => {
      for (let i = 0; i < 32; i++) emitDma(fake, 1, DMA_HT, { completions: i });
    });
    const outcome = engine.start(spec(board, engine), sink);
    await timers.advance(50);
    await outcome;
    expect(log.filter((l) => l.startsWith('dma'))).toHaveLength(32);
    expect(log.some((l) => l.startsWith('lost'))).toBe(false);
  });

  it('firmware before 2.4: a USART event counts if the board sent it after the start’s reply', async () => {
    const { board, fake, timers, engine } = await setUp({
      fake: { firmwareVersion: { major: 2, minor: 3, patch: 0 } },
    });
    const { log, sink } = recorder();
    let dropped = false;
    fake.onRequest = (r) => {
      if (dropped || r.command !== 'reg-batch' || !r.ops.some((op) => op.op === 'status')) return 'process';
      dropped = true;
      // Sent before the start ran: an earlier transfer's.
      fake.emitUsartEvent(USART_FE);
      return 'drop-reply';
    };
    fake.onReplied = () => {
      if (!dropped || fake.onReplied === undefined) return;
      fake.onReplied = undefined;
      fake.emitUsartEvent(USART_TC);
      fake.emitUsartEvent(USART_IDLE);
    };
    const outcome = engine.start(spec(board, engine), sink);
    await timers.advance(50);
    expect(await outcome).toEqual({ ok: true });
    expect(log).toEqual(['accepted', `usart flags ${USART_TC}`, `usart flags ${USART_IDLE}`]);
  });

  it('a stop sent before the reply came: the start is accepted and over, nothing is handed over', async () => {
    const { board, fake, timers, engine } = await setUp();
    const { log, sink } = recorder();
    loseStartReplyOnce(fake, () => emitDma(fake, 1, DMA_TC));
    const outcome = engine.start(spec(board, engine), sink);
    const stopped = engine.stop();
    await timers.advance(50);
    expect(await outcome).toEqual({ ok: true });
    expect((await stopped).ccr & 1).toBe(0);
    expect(log).toEqual(['accepted']);
    expect(() => engine.assertIdle()).not.toThrow();
  });
});

describe('stop() and reading the channel', () => {
  it('stop() clears EN, reads STATUS in the same batch, and frees the channel', async () => {
    const { board, fake, engine } = await setUp();
    await engine.start(spec(board, engine, 8), recorder().sink);
    fake.registers.set(FAKE.CNDTR1, 3);
    const from = fake.received.length;
    const state = await engine.stop();
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['CCR1 = 0x0 in 0x1', 'status 1']]);
    expect({ en: state.ccr & 1, cndtr: state.cndtr, starts: state.starts }).toEqual({
      en: 0,
      cndtr: 3,
      starts: fake.startsOf(1),
    });
    expect(() => engine.assertIdle()).not.toThrow();
  });

  it('readState() reads STATUS without touching EN, and throws what the board refused', async () => {
    const { board, fake, engine } = await setUp();
    await engine.start(spec(board, engine, 8), recorder().sink);
    const from = fake.received.length;
    const state = await engine.readState();
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['status 1']]);
    expect(state.ccr & 1).toBe(1);
    const recovering = board.recover();
    await expect(engine.readState()).rejects.toBeInstanceOf(RevokedError);
    await recovering;
  });

  it('a stop confirmed by the board frees the range a raw start left on the channel', async () => {
    const { board, engine } = await setUp();
    await rawStartChannel1(board, 0x2000_4100, 16);
    expect(board.arenaUsage().inDoubt).toBe(16);
    await engine.stop();
    expect(board.arenaUsage().inDoubt).toBe(0);
  });

  it('a start confirmed by the board frees the range a raw start left on the channel', async () => {
    const { board, engine } = await setUp();
    await rawStartChannel1(board, 0x2000_4100, 16);
    expect(board.arenaUsage().inDoubt).toBe(16);
    await engine.start(spec(board, engine), recorder().sink);
    expect(board.arenaUsage().inDoubt).toBe(0);
  });

  it('settleLine() waits on the board for TC, 2.5 characters of 11 bits at the current rate', async () => {
    const { fake, engine } = await setUp();
    let from = fake.received.length;
    await engine.settleLine();
    const sent = fake.received.slice(from).map((r) => r.command);
    expect(sent).toEqual(['reg-read', 'reg-batch']);
    // 11 bits × 556 / 64 MHz = 95.56 µs, × 2.5 = 238.9
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['poll USART_ISR & 0x40 == 0x40 for 239 us']]);
    fake.registers.set(USART_BRR, 3);
    from = fake.received.length;
    await engine.settleLine();
    // A divider under 16 counts as 16: 2.75 µs a character.
    expect(batchesSince(fake, from).map(describeOps)).toEqual([['poll USART_ISR & 0x40 == 0x40 for 7 us']]);
  });

  it('settleLine() waits at most 65535 µs, and a line that never goes idle is no error', async () => {
    const { engine, fake } = await setUp({ hello: { usart1ClockHz: 1_000_000 }, baudRate: 9600 });
    fake.registers.set(USART_BRR, 0xffff);
    const from = fake.received.length;
    fake.onRequest = (r) => {
      if (r.command === 'reg-batch') fake.usartErrors = 0;
      return 'process';
    };
    await engine.settleLine();
    expect(batchesSince(fake, from).map(describeOps)).toEqual([
      ['poll USART_ISR & 0x40 == 0x40 for 65535 us'],
    ]);
  });

  it('settleLine() on a line still busy after the wait: no error', async () => {
    const { fake, engine } = await setUp();
    fake.lineIdle = false;
    await engine.settleLine();
  });

  it('settleLine() and readState() of a revoked channel send nothing', async () => {
    const { board, fake, engine } = await setUp();
    await board.recover();
    const from = fake.received.length;
    await expect(engine.settleLine()).rejects.toBeInstanceOf(RevokedError);
    await expect(engine.readState()).rejects.toBeInstanceOf(RevokedError);
    expect(fake.received.length).toBe(from);
  });

  it('settleLine() throws any other failure', async () => {
    const { board, engine } = await setUp();
    const recovering = board.recover();
    await expect(engine.settleLine()).rejects.toBeInstanceOf(RevokedError);
    await recovering;
  });
});

/** Starts DMA1 channel 1 through board.raw over [address, address + length) (a transmit). */
async function rawStartChannel1(board: Board, address: number, length: number): Promise<void> {
  await board.raw.batch((b) =>
    b
      .write(FAKE.CCR1, 0)
      .write(FAKE.C0CR, 51)
      .write(FAKE.CNDTR1, length)
      .write(FAKE.CPAR1, 0x4001_3828)
      .write(FAKE.CMAR1, address)
      .write(FAKE.CCR1, 0x91),
  );
}
