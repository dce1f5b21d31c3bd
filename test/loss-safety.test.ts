/**
 * The chapter's promises on a link that loses, damages and delays frames,
 * against the real firmware on the virtual board: no buffer is handed back
 * while a DMA may still use it, and no wait depends on one event arriving.
 * One test for each way an attack on an earlier release broke them.
 */

import { afterEach, describe, expect, it } from 'vitest';
import {
  OverrunError,
  Serial1,
  StreamAbortedError,
  TransferAbortedError,
  TransferInDoubtError,
  TransferTimeoutError,
} from '../driver/api/index.ts';
import {
  Board,
  type BoardOptions,
  BusyError,
  DmaBuffer,
  ForeignBufferError,
  MovedError,
  RawWriteRefusedError,
  RevokedError,
} from '../driver/board/index.ts';
import { DriverError } from '../driver/driver-error.ts';
import { LinkTimeoutError } from '../driver/link/index.ts';
import { EncodeError } from '../driver/protocol/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { CCR_EN, DMA } from '../emulator/stm32g071/dma.ts';
import { FAST_BAUD, pattern, peerReceived, sleepVirtual } from './support/api-fixtures.ts';
import { loadFirmware } from './support/firmware.ts';
import {
  batchReply,
  dmaEvent,
  type FilteredTransport,
  frameFilter,
  usartTcEvent,
} from './support/frame-filter.ts';
import { virtualTimers } from './support/virtual-timers.ts';

interface Open {
  vb: VirtualBoard;
  board: Board;
  link: FilteredTransport;
}

const opened: Open[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.board.close().catch(() => {});
    await o.vb.dispose();
  }
});

/** The virtual board behind a frame filter, with the link's deadlines in virtual time. */

/** Link deadlines short enough that a silenced board is given up quickly (in virtual time). */
const GIVE_UP_FAST: BoardOptions = { retransmitTimeoutMs: 40, maxRetries: 3 };
async function open(options: { usart1?: 'peer' | 'loopback'; link?: BoardOptions } = {}): Promise<Open> {
  // The device on USART1 runs at the tests' usual Serial1 rate; a test at another rate sets it.
  const vb = new VirtualBoard({
    firmware: loadFirmware(),
    usart1: options.usart1 ?? 'peer',
    peerBaudRate: FAST_BAUD,
  });
  vb.start();
  const link = frameFilter(vb.hostPort());
  const board = await Board.open(link, { timers: virtualTimers(vb), ...options.link });
  const o = { vb, board, link };
  opened.push(o);
  return o;
}

function channel(vb: VirtualBoard, n = 1): { ccr: number; cndtr: number; cmar: number } {
  const dma = vb.chip.dma1;
  return { ccr: dma.read(DMA.CCR(n), 4), cndtr: dma.read(DMA.CNDTR(n), 4), cmar: dma.read(DMA.CMAR(n), 4) };
}

/** Every free or handed-out arena region the allocator knows stays clear of a running channel's memory. */
function expectArenaClearOfRunningDma(
  vb: VirtualBoard,
  board: Board,
  reserved: { address: number; length: number },
) {
  const { ccr, cmar, cndtr } = channel(vb);
  if ((ccr & CCR_EN) === 0 || cndtr === 0) return;
  const { free, live } = board.inspectArena();
  for (const r of free) expect(r.address + r.length <= cmar || cmar + cndtr <= r.address).toBe(true);
  // The only live allocation over it is the reserved one.
  for (const r of live) {
    if (r.address === reserved.address) continue;
    expect(r.address + r.length <= cmar || cmar + cndtr <= r.address).toBe(true);
  }
}

describe('a start whose reply never comes is in doubt: nothing is handed back', () => {
  it('readExact(): the buffer stays reserved and the serial moved until a new session confirms the channel off', async () => {
    const { vb, board, link } = await open({ link: GIVE_UP_FAST });
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(64);
    const reserved = { address: buf.address, length: 64 };
    link.silence(true);
    const t = serial.readExact(buf);
    const started = await t.started.catch((e: unknown) => e);
    expect(started).toBeInstanceOf(TransferInDoubtError);
    expect((started as TransferInDoubtError).cause).toBeInstanceOf(LinkTimeoutError);
    await expect(t.wait()).rejects.toBeInstanceOf(TransferInDoubtError);
    // The board did start it: its DMA writes into the buffer's memory.
    expect(channel(vb).ccr & CCR_EN).toBe(CCR_EN);
    expect(channel(vb).cmar).toBe(reserved.address);
    expect(() => buf.free()).toThrow(MovedError);
    expect(() => serial.readExact(board.alloc(4))).toThrow(MovedError);
    for (let i = 0; i < 20; i++) expect(board.alloc(64).address).not.toBe(reserved.address);
    expectArenaClearOfRunningDma(vb, board, reserved);
    // Bytes from the peer land in the reserved memory, nowhere else.
    vb.peer.inject(pattern(16, 1));
    await sleepVirtual(vb, 1);
    link.silence(false);
    await board.reconnect();
    // The new session stopped the channel; only now is the memory free again.
    expect(channel(vb).ccr & CCR_EN).toBe(0);
    const again = board.alloc(64);
    expect(again.address).toBe(reserved.address);
    await again.write(pattern(64, 7));
    vb.peer.inject(pattern(64, 2));
    await sleepVirtual(vb, 2);
    expect(await again.read()).toEqual(pattern(64, 7));
  });

  it('readCircular(): the same', async () => {
    const { vb, board, link } = await open({ link: GIVE_UP_FAST });
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(64);
    const reserved = { address: buf.address, length: 64 };
    link.silence(true);
    const rec = serial.readCircular(buf);
    await expect(rec.started).rejects.toBeInstanceOf(TransferInDoubtError);
    expect(channel(vb).ccr & CCR_EN).toBe(CCR_EN);
    expect(() => buf.free()).toThrow(MovedError);
    for (let i = 0; i < 20; i++) expect(board.alloc(64).address).not.toBe(reserved.address);
    expectArenaClearOfRunningDma(vb, board, reserved);
    link.silence(false);
    await board.recover();
    expect(channel(vb).ccr & CCR_EN).toBe(0);
    expect(board.alloc(64).address).toBe(reserved.address);
  });

  it('streamWriter(): the stream fails in doubt and its buffers stay reserved', async () => {
    const { vb, board, link } = await open({ link: GIVE_UP_FAST });
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const writer = serial.streamWriter({ chunkSize: 256 });
    expect(board.arenaUsage().inTransfer).toBe(3 * 256);
    link.silence(true);
    const writing = writer.write(pattern(1024, 3)).catch((e: unknown) => e);
    const closed = await writer.close().catch((e: unknown) => e);
    await writing;
    // Not the link's own error: a start went out unanswered, so the DMA may be reading the buffers.
    expect(closed).toBeInstanceOf(TransferInDoubtError);
    expect((closed as TransferInDoubtError).cause).toBeInstanceOf(LinkTimeoutError);
    expect(board.arenaUsage()).toMatchObject({ inTransfer: 0, inDoubt: 3 * 256 });
    link.silence(false);
    await board.recover();
    expect(channel(vb).ccr & CCR_EN).toBe(0);
    expect(board.arenaUsage()).toMatchObject({ free: board.arena.size, inDoubt: 0 });
  });
});

describe('recover()', () => {
  it('leaves no channel running that the driver does not know about, whatever start raced it', async () => {
    const { vb, board } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(64);
    const recovering = board.recover();
    // Revoked at once: this start is refused before anything is sent.
    expect(() => serial.readExact(buf)).toThrow(RevokedError);
    await recovering;
    expect(channel(vb).ccr & CCR_EN).toBe(0);
    // A start queued before recover() runs before the reset: it ends stopped too.
    const again = await Serial1.take(board, { baudRate: FAST_BAUD });
    const t = again.readExact(board.alloc(64));
    await board.recover();
    expect(channel(vb).ccr & CCR_EN).toBe(0);
    await expect(t.wait()).rejects.toBeInstanceOf(RevokedError);
  });
});

describe('no wait hangs on a lost event', () => {
  it('(A) the start reply is damaged and resent: the events that came first are not dropped', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(8);
    await buf.write(pattern(8, 4));
    link.once(batchReply, 'damage');
    const t = serial.writeAll(buf);
    await t.started;
    const startedAt = vb.nowNs;
    const { transferred } = await t.wait({ timeoutMs: 10_000 });
    expect(link.hits).toBe(1);
    expect(board.stats.retransmissions).toBeGreaterThanOrEqual(1);
    expect(transferred).toBe(8);
    expect(peerReceived(vb)).toEqual(pattern(8, 4));
    // Done as the resent reply came, from what came before it: not by the
    // safety net, whose first re-read is 250 ms after the start.
    expect((vb.nowNs - startedAt) / 1e6).toBeLessThan(250);
  });

  it('(B) the last frame before the board goes quiet loses its delimiter: noticed when the line stays quiet', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(8);
    await buf.write(pattern(8, 5));
    link.once(usartTcEvent, 'cut-delimiter');
    const t0 = vb.nowNs;
    const { transferred } = await serial.writeAll(buf).wait({ timeoutMs: 10_000 });
    expect(link.hits).toBe(1);
    expect(transferred).toBe(8);
    expect(board.stats.corruptFrames).toBeGreaterThanOrEqual(1);
    expect((vb.nowNs - t0) / 1e6).toBeLessThan(250);
  });

  it('(C) the firmware sends every queued event even when its transmit queue is full of replies', async () => {
    const { vb, board } = await open();
    vb.peer.baudRate = 921_600;
    const serial = await Serial1.take(board, { baudRate: 921_600 });
    let s = serial;
    for (let trial = 0; trial < 5; trial++) {
      const buf = board.alloc(8);
      await buf.write(pattern(8, trial));
      const read = () => board.readMemory(board.arena.base + 4096, 256);
      const before = [read(), read(), read()];
      const t = s.writeAll(buf);
      const after = [read(), read(), read()];
      await Promise.all([...before, ...after]);
      const done = await t.wait({ timeoutMs: 10_000 });
      done.buffer.free();
      s = done.serial;
    }
    expect(board.stats.eventsLost).toBe(0);
    expect(board.stats.duplicateEvents).toBe(0);
  });

  it('a one-shot transfer whose every event is lost still ends: the safety net re-reads the channel', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(16);
    const t = serial.readExact(buf);
    await t.started;
    link.silence(true);
    vb.peer.inject(pattern(16, 6));
    await sleepVirtual(vb, 5);
    link.silence(false);
    const { buffer, transferred } = await t.wait({ timeoutMs: 10_000 });
    expect(transferred).toBe(16);
    expect(await buffer.read()).toEqual(pattern(16, 6));
  });

  it('readUntilIdle() whose IDLE event is lost ends once the line has stayed quiet', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const t = serial.readUntilIdle(board.alloc(64));
    await t.started;
    link.once((body) => body[1] === 0x43 && (body[4]! & 0x10) !== 0, 'drop');
    vb.peer.inject(pattern(10, 7));
    const { buffer, transferred } = await t.wait({ timeoutMs: 10_000 });
    expect(link.hits).toBe(1);
    expect(transferred).toBe(10);
    expect(await buffer.read(0, 10)).toEqual(pattern(10, 7));
  });
});

describe('the stream writer on a damaged line', () => {
  it('finishes after any one damaged frame from the board, every byte in order, and closes without a stray rejection', async () => {
    for (let n = 1; n <= 14; n++) {
      const { vb, board, link } = await open();
      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      let seen = 0;
      link.once(() => ++seen === n, 'damage');
      const data = pattern(6000, n);
      const writer = serial.streamWriter({ chunkSize: 1024 });
      await writer.write(data);
      await writer.close({ timeoutMs: 20_000 });
      expect(peerReceived(vb)).toEqual(data);
      await board.close();
    }
  });

  it('close() takes a timeout and a signal: they end the waiting, not the stream', async () => {
    const { vb, board } = await open();
    vb.peer.baudRate = 9_600;
    const serial = await Serial1.take(board, { baudRate: 9_600 });
    const writer = serial.streamWriter({ chunkSize: 512 });
    // 2000 bytes at 9600 baud: about two seconds on the board's clock.
    await writer.write(pattern(2000, 8));
    await expect(writer.close({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TransferAbortedError);
    await expect(writer.close({ timeoutMs: 50 })).rejects.toBeInstanceOf(TransferTimeoutError);
    await writer.close({ timeoutMs: 30_000 });
    expect(peerReceived(vb)).toEqual(pattern(2000, 8));
  });

  it('abort() cancels the uploads not yet sent: the stop does not wait behind them', async () => {
    const { vb, board } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const writer = serial.streamWriter({ chunkSize: 4080 });
    void writer.write(pattern(3 * 4080, 9)).catch(() => {});
    await sleepVirtual(vb, 1);
    const sentBefore = board.stats.framesSent;
    const { bytesSent } = await writer.abort();
    // Three chunks are 12 MEM_WRITE frames: most of them never went out.
    expect(board.stats.framesSent - sentBefore).toBeLessThan(8);
    expect(peerReceived(vb).length).toBe(bytesSent);
    await expect(writer.write(pattern(1))).rejects.toBeInstanceOf(StreamAbortedError);
  });
});

describe('the stream writer stopped while a start is unanswered', () => {
  it('counts the chunk that start began: abort() waits for its outcome instead of forgetting it', async () => {
    const { vb, board, link } = await open();
    vb.peer.baudRate = 115_200;
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    let armed = false;
    const writer = serial.streamWriter({
      chunkSize: 512,
      onProgress: (n) => {
        // The first chunk is on the wire: lose the reply to the next start.
        if (n === 512 && !armed) {
          armed = true;
          link.once(batchReply, 'drop');
        }
      },
    });
    void writer.write(pattern(4096, 14)).catch(() => {});
    while (link.hits === 0) await sleepVirtual(vb, 1);
    const { bytesSent } = await writer.abort();
    const got = peerReceived(vb);
    expect(got.length).toBe(bytesSent);
    expect(got).toEqual(pattern(4096, 14).subarray(0, bytesSent));
    expect(bytesSent).toBeGreaterThan(512);
  });
});

describe('circular reception', () => {
  it('never hands over a half the DMA overwrote, when the event of its lap is lost and none comes after', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    link.once(dmaEvent(0x2), 'drop');
    // HT, TC (lost), then one byte of the next lap over the first half: no event says so.
    vb.peer.inject(pattern(65, 11));
    await sleepVirtual(vb, 2);
    const error = await rec[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(link.hits).toBe(1);
    expect(error).toBeInstanceOf(OverrunError);
    await rec.stop().catch(() => {});
  });

  it('hands over a half whose event was lost, without waiting for the next half', async () => {
    const { vb, board, link } = await open();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    link.once(dmaEvent(0x4), 'drop');
    vb.peer.inject(pattern(32, 12));
    const half = await rec[Symbol.asyncIterator]().next();
    expect(link.hits).toBe(1);
    expect(half.value).toEqual(pattern(32, 12));
    await rec.stop();
  });
});

describe('the board keeps the range a running DMA uses', () => {
  it('a rewrite of CCR with EN = 1, plain or masked, is BUSY and MEM_WRITE stays refused over the whole buffer', async () => {
    const { vb, board } = await open();
    vb.peer.baudRate = 9_600;
    const serial = await Serial1.take(board, { baudRate: 9_600 });
    const buf = board.alloc(64);
    const t = serial.readExact(buf);
    await t.started;
    const ccr = board.chip.dma.channels[0]!.ccr.address;
    const running = await board.readRegister(ccr);
    await expect(board.raw.writeRegister(ccr, running)).rejects.toBeInstanceOf(BusyError);
    const masked = await board.raw.batch((b) => b.maskedWrite(ccr, 1 << 1, 0));
    expect(masked.failure?.error).toBeInstanceOf(BusyError);
    // The ledger refuses raw writes over memory it lent (the board would refuse it too: BUSY).
    await expect(board.raw.writeMemory(buf.address + 63, Uint8Array.of(1))).rejects.toBeInstanceOf(
      RawWriteRefusedError,
    );
    await t.stop();
  });
});

describe('ownership cannot be forged or crossed', () => {
  it('a buffer of another board is refused, and so is an object made from a real buffer', async () => {
    const a = await open();
    const b = await open();
    const serial = await Serial1.take(a.board, { baudRate: FAST_BAUD });
    const own = a.board.alloc(16);
    const foreign = b.board.alloc(16);
    expect(foreign.address).toBe(own.address); // same arena layout: it would alias
    expect(() => serial.writeAll(foreign)).toThrow(ForeignBufferError);
    const forged = Object.create(own, { address: { value: a.board.arena.base + 1024 } }) as DmaBuffer;
    expect(() => serial.writeAll(forged)).toThrow(TypeError);
    expect(DmaBuffer.isDmaBuffer(forged)).toBe(false);
    // Both refusals moved nothing: the serial and the buffer work on.
    await own.write(pattern(16, 13));
    await serial.writeAll(own).wait();
    expect(peerReceived(a.vb)).toEqual(pattern(16, 13));
  });
});

describe('smaller things', () => {
  it('Serial1.take() that fails gives its claims back', async () => {
    const { board } = await open();
    await expect(Serial1.take(board, { baudRate: 1 })).rejects.toThrow();
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    expect(serial).toBeInstanceOf(Serial1);
  });

  it('an unknown batch operation is refused before it is sent, and the session goes on', async () => {
    const { board } = await open();
    const bogus = [{ op: 'frobnicate', address: 0 }] as unknown as Parameters<Board['raw']['batch']>[0];
    await expect(board.raw.batch(bogus)).rejects.toThrow(TypeError);
    expect(await board.ping(Uint8Array.of(1))).toEqual(Uint8Array.of(1));
  });

  it('register values must be whole u32s; buffers take bytes, not text', async () => {
    const { board } = await open();
    const tdr = board.chip.usart1.tdr.address;
    await expect(board.raw.writeRegister(tdr, 1.5)).rejects.toBeInstanceOf(RangeError);
    await expect(board.raw.writeRegister(tdr, 2 ** 33)).rejects.toBeInstanceOf(RangeError);
    const buf = board.alloc(8);
    await expect(buf.write('text' as unknown as Uint8Array)).rejects.toBeInstanceOf(TypeError);
  });

  it('every error the driver throws derives from DriverError', async () => {
    const { board } = await open();
    expect(() => board.alloc(1 << 20)).toThrow(DriverError);
    expect(new EncodeError('x')).toBeInstanceOf(DriverError);
    const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
    const w = serial.streamWriter();
    void w.close();
    await expect(w.write(pattern(1))).rejects.toBeInstanceOf(DriverError);
  });
});
