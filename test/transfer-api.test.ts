/**
 * The safe Transfer API point by point, against the real bridge firmware on
 * the virtual board: buffers, waiting, stopping, disposal, leaks, recovery,
 * channel options, completion on the wire, and typed errors.
 */

import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AlignmentError,
  DmaTransferError,
  Serial1,
  SerialError,
  TransferAbortedError,
  TransferTimeoutError,
} from '../driver/api/index.ts';
import { BufferBusyError, BufferFreedError, MovedError, RevokedError } from '../driver/board/index.ts';
import { ArenaLedger } from '../driver/board/ledger.ts';
import { CCR_EN, DMA } from '../emulator/stm32g071/dma.ts';
import {
  nowNs,
  openSerialTarget,
  pattern,
  peerReceived,
  type SerialTarget,
  sleepVirtual,
  str,
  text,
} from './support/api-fixtures.ts';

let target: SerialTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

async function open(options: Parameters<typeof openSerialTarget>[0] = {}): Promise<SerialTarget> {
  target = await openSerialTarget(options);
  return target;
}

/** DMA1 channel `n`'s CCR and CNDTR as the emulated chip holds them right now (no link involved). */
function chipChannel(t: SerialTarget, n = 1): { ccr: number; cndtr: number } {
  const dma = t.vb.chip.dma1;
  return { ccr: dma.read(DMA.CCR(n), 4), cndtr: dma.read(DMA.CNDTR(n), 4) };
}

describe('DmaBuffer', () => {
  it('writes and reads at offsets, across several MEM_WRITE/MEM_READ pieces', async () => {
    const { board } = await open();
    const buf = board.alloc(3000);
    const data = pattern(3000, 1);
    await buf.write(data);
    expect(await buf.read()).toEqual(data);
    await buf.write(text('xyz'), 1000);
    expect(str(await buf.read(999, 5))).toBe(
      `${String.fromCharCode(data[999]!)}xyz${String.fromCharCode(data[1003]!)}`,
    );
    expect(await buf.read(2990)).toEqual(data.subarray(2990));
    await expect(buf.write(new Uint8Array(2), 2999)).rejects.toThrow(RangeError);
    await expect(buf.read(2000, 1001)).rejects.toThrow(RangeError);
  });

  it('views share memory and address; bad ranges throw; free() is only for the allocation', async () => {
    const { board } = await open();
    const buf = board.alloc(16);
    await buf.write(text('0123456789abcdef'));
    const view = buf.subarray(4, 8);
    expect(view.address).toBe(buf.address + 4);
    expect(view.length).toBe(4);
    expect(str(await view.read())).toBe('4567');
    await view.write(text('WX'), 2);
    expect(str(await buf.read())).toBe('012345WX89abcdef');
    expect(str(await view.subarray(1, 3).read())).toBe('5W');
    expect(() => buf.subarray(8, 8)).toThrow(RangeError);
    expect(() => buf.subarray(-1)).toThrow(RangeError);
    expect(() => buf.subarray(0, 17)).toThrow(RangeError);
    expect(() => view.free()).toThrow(/not a view/);
  });

  it('is usable only while owned: moved, locked, freed or revoked each say so', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(8);
    const other = buf.subarray(0, 4);
    expect(buf.usable).toBe(true);
    const t = serial.readExact(buf);
    expect(buf.usable).toBe(false);
    expect(other.usable).toBe(false);
    await expect(other.read()).rejects.toBeInstanceOf(BufferBusyError);
    await t.started;
    vb.peer.inject(text('abcdefgh'));
    const { buffer } = await t.wait();
    expect(buf.usable).toBe(false); // moved for good
    expect(other.usable).toBe(true); // unlocked once the transfer finished
    expect(buffer.usable).toBe(true);
    buffer.free();
    expect(other.usable).toBe(false);
    await expect(other.read()).rejects.toBeInstanceOf(BufferFreedError);
    expect(() => buffer.free()).toThrow(BufferFreedError);
    // Using DmaBuffer as a disposable frees it once.
    {
      using scoped = board.alloc(16);
      expect(board.arenaUsage().buffers).toBe(1);
      await scoped.write(text('scoped'));
    }
    expect(board.arenaUsage().buffers).toBe(0);
  });
});

describe('wait()', () => {
  it('a timeout rejects with TransferTimeoutError and leaves the transfer running; waiting again succeeds', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    const error = await t.wait({ timeoutMs: 5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferTimeoutError);
    expect((error as Error).message).toMatch(/still running: wait\(\) again or stop\(\) it/);
    expect(chipChannel(target!).ccr & CCR_EN).toBe(CCR_EN);
    vb.peer.inject(text('complete'));
    const { buffer } = await t.wait();
    expect(str(await buffer.read())).toBe('complete');
  });

  it('an abort signal rejects with TransferAbortedError (also when aborted already); waiting again succeeds', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(4));
    await t.started;
    const ac = new AbortController();
    const waiting = t.wait({ signal: ac.signal });
    ac.abort('user gave up');
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferAbortedError);
    expect((error as TransferAbortedError).reason).toBe('user gave up');
    await expect(t.wait({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TransferAbortedError);
    expect(t.isDone()).toBe(false);
    vb.peer.inject(text('done'));
    const { buffer } = await t.wait({ signal: new AbortController().signal, timeoutMs: 10_000 });
    expect(str(await buffer.read())).toBe('done');
  });
});

describe('stop()', () => {
  it('hands back buffer and serial with the number of items actually moved', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(16);
    await buf.write(new Uint8Array(16).fill(0x2e));
    const t = serial.readExact(buf);
    await t.started;
    vb.peer.inject(text('hello'));
    await sleepVirtual(vb, 1);
    const { buffer, serial: s2, transferred } = await t.stop();
    expect(transferred).toBe(5);
    expect(chipChannel(target!).ccr & CCR_EN).toBe(0);
    expect(str(await buffer.read())).toBe('hello...........');
    // The channel is free for the next transfer.
    await s2.writeAll(buffer.subarray(0, 5)).wait();
    expect(str(peerReceived(vb))).toBe('hello');
    await expect(t.stop()).rejects.toBeInstanceOf(MovedError);
  });

  it('stopping a finished transfer just hands its owners back, with the whole count', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(4));
    await t.started;
    vb.peer.inject(text('full'));
    while (!t.isDone()) await sleepVirtual(vb, 1);
    const { transferred, buffer } = await t.stop();
    expect(transferred).toBe(4);
    expect(str(await buffer.read())).toBe('full');
  });
});

describe('disposal and leaks', () => {
  it('Symbol.asyncDispose stops a running transfer and frees the allocation; a view is only unlocked', async () => {
    const { board, serial } = await open();
    const whole = board.alloc(64);
    const t = serial.readExact(whole.subarray(0, 32));
    await t.started;
    await t[Symbol.asyncDispose]();
    expect(chipChannel(target!).ccr & CCR_EN).toBe(0);
    expect(whole.usable).toBe(true);
    expect(board.arenaUsage().buffers).toBe(1);
    await t[Symbol.asyncDispose](); // disposing twice is harmless
    await expect(t.wait()).rejects.toBeInstanceOf(MovedError);
  });

  it('a transfer never finished keeps its region, even after its DMA completed', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(128);
    const address = buf.address;
    void serial.readExact(buf); // never waited, stopped or disposed
    await board.ping();
    vb.peer.inject(pattern(128));
    await sleepVirtual(vb, 2);
    expect(chipChannel(target!).cndtr).toBe(0); // the DMA is done
    // Lent, or owned by the buffer the transfer holds for wait(): never free.
    expect(board.arenaUsage().free).toBe(board.arena.size - 128);
    for (let i = 0; i < 20; i++) {
      const b = board.alloc(128);
      expect(b.address === address).toBe(false);
    }
  });

  it('a region returns to the allocator only after the board confirmed the stop', async () => {
    const { board, serial } = await open();
    const buf = board.alloc(32);
    const atRelease: { ccr: number; cndtr: number }[] = [];
    // What the chip itself says at the moment the ledger takes the memory back from the transfer.
    const giveBack = vi.spyOn(ArenaLedger.prototype, 'giveBack').mockImplementation(function (
      this: ArenaLedger,
      loan,
    ) {
      atRelease.push(chipChannel(target!));
      giveBack.mockRestore();
      return this.giveBack(loan);
    });
    const t = serial.readExact(buf);
    await t.started;
    const disposing = t[Symbol.asyncDispose]();
    expect(board.arenaUsage().buffers).toBe(1); // not before the reply
    await disposing;
    expect(board.arenaUsage().buffers).toBe(0);
    expect(atRelease).toHaveLength(1);
    expect(atRelease[0]!.ccr & CCR_EN).toBe(0);
  });
});

describe('board.recover()', () => {
  it('stops the channel, revokes every outstanding handle and reclaims the whole arena', async () => {
    const { board, vb, serial } = await open();
    const a = board.alloc(4000);
    const spare = board.alloc(100);
    await a.write(pattern(4000));
    const t1 = serial.writeAll(a);
    await t1.started;
    expect(chipChannel(target!).ccr & CCR_EN).toBe(CCR_EN);
    await board.recover();
    expect(chipChannel(target!).ccr & CCR_EN).toBe(0);
    const sentAtRecover = vb.peer.received().length;
    expect(sentAtRecover).toBeLessThan(4000);
    await expect(t1.wait()).rejects.toBeInstanceOf(RevokedError);
    await expect(spare.read()).rejects.toBeInstanceOf(RevokedError);
    expect(() => spare.free()).toThrow(RevokedError);
    // The whole arena is free again, and USART1 can be taken again.
    const whole = board.alloc(board.arena.size);
    expect(whole.length).toBe(board.arena.size);
    whole.free();
    const s2 = await Serial1.take(board, { baudRate: 2_000_000 });
    const b = board.alloc(3);
    await b.write(text('new'));
    await s2.writeAll(b).wait();
    expect(str(peerReceived(vb).subarray(sentAtRecover))).toBe('new');
  });

  it('an owner handed back before recover() is revoked too', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(2));
    await t.started;
    vb.peer.inject(text('ok'));
    const { serial: s2, buffer } = await t.wait();
    await board.recover();
    await expect(s2.write(0x41)).rejects.toBeInstanceOf(RevokedError);
    await expect(buffer.read()).rejects.toThrow(/revoked by board\.recover\(\)/);
    expect(() => s2.writeAll(board.alloc(1))).toThrow(RevokedError);
  });
});

describe('channel options', () => {
  it('priority lands in CCR.PL; 16- and 32-bit items move the low byte of each item', async () => {
    const { board, vb, serial } = await open();
    let s = serial;
    const levels = { low: 0, medium: 1, high: 2, 'very-high': 3 } as const;
    for (const [priority, pl] of Object.entries(levels)) {
      const b = board.alloc(1);
      await b.write(text('p'));
      const t = s.writeAll(b, { priority: priority as keyof typeof levels });
      await t.started;
      expect((chipChannel(target!).ccr >> 12) & 3).toBe(pl);
      s = (await t.wait()).serial;
    }
    vb.peer.clear();
    // 16-bit: items "A\0", "B\0"; PSIZE 16 writes each item to TDR, which sends its low 8 bits.
    const b16 = board.alloc(4, { align: 2 });
    await b16.write(Uint8Array.of(0x41, 0xee, 0x42, 0xee));
    const t16 = s.writeAll(b16, { dataSize: 16 });
    await t16.started;
    expect((chipChannel(target!).ccr >> 8) & 0xf).toBe(0b0101); // MSIZE = PSIZE = 16 bits
    expect(chipChannel(target!).ccr & CCR_EN).toBe(CCR_EN);
    s = (await t16.wait()).serial;
    const b32 = board.alloc(8, { align: 4 });
    await b32.write(Uint8Array.of(0x43, 1, 2, 3, 0x44, 4, 5, 6));
    s = (await s.writeAll(b32, { dataSize: 32 }).wait()).serial;
    expect(str(peerReceived(vb))).toBe('ABCD');
    // Reception at 16 bits: each received byte fills one item (zero-extended).
    const r16 = board.alloc(6, { align: 2 });
    const tr = s.readExact(r16, { dataSize: 16 });
    await tr.started;
    vb.peer.inject(text('xyz'));
    const { buffer, transferred } = await tr.wait();
    expect(transferred).toBe(3);
    expect([...(await buffer.read())]).toEqual([0x78, 0, 0x79, 0, 0x7a, 0]);
  });

  it('a misaligned buffer throws AlignmentError before anything is sent; nothing is moved', async () => {
    const { board, serial } = await open();
    const buf = board.alloc(16, { align: 4 });
    const sent = board.stats.framesSent;
    expect(() => serial.writeAll(buf.subarray(1, 5), { dataSize: 16 })).toThrow(AlignmentError);
    expect(() => serial.writeAll(buf.subarray(2, 6), { dataSize: 32 })).toThrow(AlignmentError);
    expect(() => serial.readExact(buf.subarray(0, 3), { dataSize: 16 })).toThrow(/multiple of 2/);
    expect(() => serial.readCircular(buf.subarray(2, 10), { dataSize: 32 })).toThrow(AlignmentError);
    expect(board.stats.framesSent).toBe(sent);
    expect(buf.usable).toBe(true);
    // Still usable: the same buffer, aligned, goes through.
    await serial.writeAll(buf.subarray(4, 12), { dataSize: 32 }).wait();
  });
});

describe('start cost', () => {
  it('starting a transfer costs one request frame and one reply frame', async () => {
    const { board, vb, serial } = await open({ baudRate: 115_200 });
    const buf = board.alloc(256);
    await buf.write(pattern(256));
    await board.ping(); // nothing in flight
    const before = { ...board.stats };
    const t = serial.writeAll(buf);
    await t.started; // 256 characters at 115200 baud outlast the reply: no completion event yet
    expect(board.stats.framesSent - before.framesSent).toBe(1);
    expect(board.stats.framesReceived - before.framesReceived).toBe(1);
    const { serial: s2 } = await t.wait();
    const rxBuf = board.alloc(8);
    await board.ping();
    const before2 = { ...board.stats };
    const r = s2.readExact(rxBuf);
    await r.started;
    expect(board.stats.framesSent - before2.framesSent).toBe(1);
    expect(board.stats.framesReceived - before2.framesReceived).toBe(1);
    vb.peer.inject(pattern(8));
    await r.wait();
  });
});

describe('completion on the wire', () => {
  it('a write completes when USART1 TC says the last bit has left the wire, not at the DMA TC', async () => {
    // 2400 baud: a character takes 4.2 ms, longer than an event frame on the link, so a
    // transfer that resolved on the DMA's TC (two characters early) would be seen to.
    const { board, vb, serial } = await open({ baudRate: 2400 });
    const buf = board.alloc(6);
    await buf.write(text('on air'));
    let dmaTcAtNs: number | undefined;
    board.subscribe((n) => {
      if (n.kind === 'dma' && n.tc) dmaTcAtNs ??= nowNs(vb);
    });
    const t = serial.writeAll(buf);
    await t.wait();
    const resolvedAtNs = nowNs(vb);
    const received = vb.peer.received();
    expect(str(peerReceived(vb))).toBe('on air');
    const lastBitNs = received[received.length - 1]!.timeNs;
    expect(dmaTcAtNs).toBeDefined();
    expect(dmaTcAtNs!).toBeLessThan(lastBitNs); // the DMA was done well before the line
    expect(resolvedAtNs).toBeGreaterThanOrEqual(lastBitNs);
    // ...and not much after it: one event frame over the link.
    expect(resolvedAtNs - lastBitNs).toBeLessThan(5e6);
  });
});

describe('typed transfer errors', () => {
  it('a bus error (TEIF) rejects wait() with DmaTransferError whose recovered owners work', async () => {
    const { board, vb, serial } = await open({ baudRate: 115_200 });
    const buf = board.alloc(64);
    const data = pattern(64, 7);
    await buf.write(data);
    const t = serial.writeAll(buf);
    await t.started;
    await sleepVirtual(vb, 1); // about a dozen characters in
    vb.chip.dma1.injectTransferError(1);
    const error = await t.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DmaTransferError);
    const te = error as DmaTransferError<Serial1>;
    expect(te.channel).toBe(1);
    expect(te.transferred).toBeGreaterThan(0);
    expect(te.transferred).toBeLessThan(64);
    expect(te.message).toMatch(/TEIF/);
    expect(chipChannel(target!).ccr & CCR_EN).toBe(0);
    const sentBefore = vb.peer.received().length;
    expect(sentBefore).toBeLessThanOrEqual(te.transferred);
    // The channel is usable again with the recovered owners.
    const { buffer, serial: s2 } = te.recovered!;
    await s2.writeAll(buffer).wait();
    expect(peerReceived(vb).subarray(sentBefore)).toEqual(data);
  });

  it('a framing error during readExact rejects with SerialError; the channel is usable again', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(16));
    await t.started;
    vb.peer.inject(text('abcd'));
    vb.peer.injectError('framing', 0x55);
    const error = await t.wait().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SerialError);
    const se = error as SerialError<Serial1>;
    expect(se.kinds).toEqual(['framing']);
    expect(se.transferred).toBeGreaterThanOrEqual(4);
    expect(se.message).toMatch(/same baud rate/);
    expect(chipChannel(target!).ccr & CCR_EN).toBe(0);
    const { buffer, serial: s2 } = se.recovered!;
    const t2 = s2.readExact(buffer);
    await t2.started;
    vb.peer.inject(text('0123456789ABCDEF'));
    const { buffer: b2 } = await t2.wait();
    expect(str(await b2.read())).toBe('0123456789ABCDEF');
  });

  it('a noise error is typed too (8N1 has no parity bit, so parity errors cannot occur)', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(8));
    await t.started;
    vb.peer.injectError('noise', 0x31);
    const e = (await t.wait().catch((x: unknown) => x)) as SerialError<Serial1>;
    expect(e).toBeInstanceOf(SerialError);
    expect(e.kinds).toEqual(['noise']);
    expect(e.recovered?.serial).toBeInstanceOf(Serial1);
  });
});
