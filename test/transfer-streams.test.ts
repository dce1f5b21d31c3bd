/**
 * Full duplex, circular reception, reception until idle and the streaming
 * writer, against the real bridge firmware on the virtual board; and 64 KiB
 * through USART1 in loopback, compared byte for byte.
 */

import { afterEach, describe, expect, it } from 'vitest';
import {
  OverrunError,
  Serial1,
  type SerialRx,
  type SerialTx,
  StreamAbortedError,
} from '../driver/api/index.ts';
import { Board, MovedError } from '../driver/board/index.ts';
import { cobsDecode } from '../driver/protocol/cobs.ts';
import type { Transport } from '../driver/transport/transport.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { CCR_EN, DMA } from '../emulator/stm32g071/dma.ts';
import {
  FAST_BAUD,
  nowNs,
  openSerialTarget,
  pattern,
  peerReceived,
  type SerialTarget,
  sleepVirtual,
  str,
  text,
} from './support/api-fixtures.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

let target: SerialTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

async function open(options: Parameters<typeof openSerialTarget>[0] = {}): Promise<SerialTarget> {
  target = await openSerialTarget(options);
  return target;
}

describe('split(): full duplex', () => {
  it('tx.writeAll and rx.readExact run at the same time on channels 1 and 2; join() puts Serial1 back', async () => {
    const { board, vb, serial } = await open();
    const { tx, rx } = serial.split();
    expect(() => serial.writeAll(board.alloc(1))).toThrow(/moved by split\(\)/);
    const out = pattern(512, 1);
    const incoming = pattern(512, 2);
    const txBuf = board.alloc(512);
    await txBuf.write(out);
    const rt = rx.readExact(board.alloc(512));
    await rt.started;
    const tt = tx.writeAll(txBuf);
    await tt.started;
    vb.peer.inject(incoming);
    // Both channels enabled at once: the transfers overlap on the wire.
    const dma = vb.chip.dma1;
    expect(dma.read(DMA.CCR(1), 4) & CCR_EN).toBe(CCR_EN);
    expect(dma.read(DMA.CCR(2), 4) & CCR_EN).toBe(CCR_EN);
    const [w, r] = await Promise.all([tt.wait(), rt.wait()]);
    expect(peerReceived(vb)).toEqual(out);
    expect(await r.buffer.read()).toEqual(incoming);

    expect(() => Serial1.join(tx, rx)).toThrow(MovedError);
    const joined = Serial1.join(w.serial, r.serial);
    expect(() => w.serial.writeAll(board.alloc(1))).toThrow(/moved by Serial1\.join\(\)/);
    const hello = board.alloc(5);
    await hello.write(text('again'));
    await joined.writeAll(hello).wait();
    expect(str(peerReceived(vb).subarray(512))).toBe('again');
  });
});

describe('readCircular()', () => {
  it('yields the halves in order over several laps while the peer streams', async () => {
    // USART1 at a third of the link's rate, so reading each half back over the link keeps up.
    const { board, vb, serial } = await open({ baudRate: 38_400 });
    const stream = pattern(2048, 3); // four laps of a 512-byte buffer
    const rec = serial.readCircular(board.alloc(512));
    await rec.started;
    vb.peer.inject(stream);
    const got: Uint8Array[] = [];
    for await (const half of rec) {
      got.push(half);
      if (got.length === 8) break; // ends the iteration: stops the DMA
    }
    expect(got.map((h) => h.length)).toEqual(Array(8).fill(256));
    expect(Uint8Array.from(got.flatMap((h) => [...h]))).toEqual(stream);
    expect(rec.progress.consumed).toBe(8);
    expect(vb.chip.dma1.read(DMA.CCR(1), 4) & CCR_EN).toBe(0);
    const { serial: s2, buffer } = await rec.stop();
    expect(buffer.length).toBe(512);
    expect(s2).toBeInstanceOf(Serial1);
  });

  it('two full unread halves are not an overrun while the DMA has not written the oldest again', async () => {
    const { board, vb, serial } = await open();
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    const data = pattern(64, 6);
    vb.peer.inject(data); // exactly one lap: both halves full, the DMA waits at the start of the first
    // Read only once the host has heard that both are full.
    while (rec.progress.produced < 2) await new Promise((r) => setTimeout(r, 1));
    const it = rec[Symbol.asyncIterator]();
    const first = await it.next();
    const second = await it.next();
    expect(first.value).toEqual(data.subarray(0, 32));
    expect(second.value).toEqual(data.subarray(32));
    await rec.stop();
  });

  it('a reader that falls behind gets a typed OverrunError, and the DMA is stopped', async () => {
    const { board, vb, serial } = await open();
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    vb.peer.inject(pattern(200, 4)); // three halves and more, at 2 Mbaud in 1 ms
    await sleepVirtual(vb, 2); // the slow reader
    const it = rec[Symbol.asyncIterator]();
    const error = await it.next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OverrunError);
    expect((error as OverrunError).message).toMatch(
      /read faster, use a larger buffer, or lower the baud rate/,
    );
    const { buffer } = await rec.stop();
    expect(vb.chip.dma1.read(DMA.CCR(1), 4) & CCR_EN).toBe(0);
    expect(buffer.usable).toBe(true);
  });
});

describe('readUntilIdle()', () => {
  it('completes when the line goes idle and reports the length received', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(64);
    const t = serial.readUntilIdle(buf);
    await t.started;
    await sleepVirtual(vb, 1); // an idle line before any data does not end it
    expect(t.isDone()).toBe(false);
    vb.peer.inject(text('a short line'));
    const { buffer, transferred, serial: s2 } = await t.wait();
    expect(transferred).toBe(12);
    expect(str(await buffer.read(0, transferred))).toBe('a short line');
    // stop() after completion reports the same count.
    const t2 = s2.readUntilIdle(buffer);
    await t2.started;
    vb.peer.inject(text('seven!!'));
    while (!t2.isDone()) await sleepVirtual(vb, 1);
    expect((await t2.stop()).transferred).toBe(7);
  });

  it('completes on a full buffer too', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readUntilIdle(board.alloc(16));
    await t.started;
    const data = pattern(40, 5); // more than fits, back to back: no idle before the buffer is full
    vb.peer.inject(data);
    const { buffer, transferred } = await t.wait();
    expect(transferred).toBe(16);
    expect(await buffer.read()).toEqual(data.subarray(0, 16));
  });
});

describe('streamWriter()', () => {
  it('sends 20 KiB correctly with progress callbacks, then hands the serial back', async () => {
    const { board, vb, serial } = await open();
    const data = pattern(20 * 1024, 6);
    const progress: number[] = [];
    const probe = board.alloc(1);
    const writer = serial.streamWriter({ chunkSize: 4096, onProgress: (n) => progress.push(n) });
    expect(board.arenaUsage().buffers).toBe(4); // the writer's three chunk buffers
    expect(() => serial.writeAll(probe)).toThrow(/moved by streamWriter\(\)/);
    // In uneven pieces, as a producer would hand them over.
    for (let off = 0; off < data.length; off += 3000) await writer.write(data.subarray(off, off + 3000));
    const s2 = await writer.close();
    expect(peerReceived(vb)).toEqual(data);
    expect(progress).toEqual([4096, 8192, 12288, 16384, 20480]);
    expect(writer.bytesWritten).toBe(20480);
    expect(board.arenaUsage().buffers).toBe(1); // both chunk buffers freed
    // close() waited for the last bit on the wire.
    const last = vb.peer.received().at(-1)!;
    expect(nowNs(vb)).toBeGreaterThanOrEqual(last.timeNs);
    await s2.writeAll(probe).wait();
  });
});

describe('streamWriter().abort()', () => {
  it('stops mid-stream: the channel is off, the count is what reached the wire, buffers are freed', async () => {
    // USART1 slower than the link, so the stream is still going when abort() comes.
    const { board, vb, serial } = await open({ baudRate: 9_600 });
    const writer = serial.streamWriter({ chunkSize: 512 });
    await writer.write(pattern(2048, 12));
    // A close() waiting for the chunk on the wire when the stream is aborted ends too, with the typed error.
    const closing = writer.close().catch((e: unknown) => e);
    const { serial: s2, bytesSent } = await writer.abort();
    expect(await closing).toBeInstanceOf(StreamAbortedError);
    expect(vb.chip.dma1.read(DMA.CCR(1), 4) & CCR_EN).toBe(0);
    expect(bytesSent).toBeGreaterThan(0);
    expect(bytesSent).toBeLessThan(2048);
    await sleepVirtual(vb, 5); // the byte or two USART1 already held go out
    // What left the DMA is what reached the wire, give or take the byte in TDR.
    expect(Math.abs(vb.peer.received().length - bytesSent)).toBeLessThanOrEqual(1);
    expect(board.arenaUsage().buffers).toBe(0);
    await expect(writer.write(pattern(1, 1))).rejects.toThrow(/stopped by abort\(\)/);
    const probe = board.alloc(2);
    await probe.write(text('ok'));
    await s2.writeAll(probe).wait();
  });
});

describe('streamWriter() with a partial last chunk', () => {
  it('close() flushes the partial chunk; the serial then reads and writes as usual', async () => {
    const { board, vb, serial } = await open();
    const data = pattern(10_000, 10); // not a multiple of the default chunk (4080)
    async function* pieces() {
      for (let off = 0; off < data.length; off += 777) yield data.subarray(off, off + 777);
    }
    const s2 = await serial.streamWriter().pipeFrom(pieces());
    expect(peerReceived(vb)).toEqual(data);
    // The writer's lighter restarts left nothing behind that a reception would trip on.
    const t = s2.readExact(board.alloc(4));
    await t.started;
    vb.peer.inject(text('back'));
    const { buffer, serial: s3 } = await t.wait();
    expect(str(await buffer.read())).toBe('back');
    await s3.writeAll(buffer).wait();
    expect(str(peerReceived(vb).subarray(10_000))).toBe('back');
  });
});

describe('64 KiB through USART1 in loopback', () => {
  it('arrives byte for byte: split, rx.readExact armed before each tx.writeAll, in 4 KiB chunks', async () => {
    const { board, serial } = await open({ usart1: 'loopback' });
    const total = 64 * 1024;
    const chunk = 4096;
    const data = pattern(total, 7);
    let { tx, rx }: { tx: SerialTx; rx: SerialRx } = serial.split();
    // Two transmit and two receive buffers (16 KiB of the 28 KiB arena): the
    // upload of chunk i+1 and the read-back of chunk i-1 overlap chunk i on the wire.
    let txBufs = [board.alloc(chunk), board.alloc(chunk)];
    let rxBufs = [board.alloc(chunk), board.alloc(chunk)];
    const received = new Uint8Array(total);
    let upload = txBufs[0]!.write(data.subarray(0, chunk));
    let readBack: Promise<void> = Promise.resolve();
    for (let i = 0; i < total / chunk; i++) {
      const slot = i % 2;
      await upload;
      const r = rx.readExact(rxBufs[slot]!);
      await r.started; // armed before the first byte leaves
      const w = tx.writeAll(txBufs[slot]!);
      const next = (i + 1) * chunk;
      // The other transmit buffer is idle: upload the next chunk during this one.
      upload = next < total ? txBufs[slot ^ 1]!.write(data.subarray(next, next + chunk)) : Promise.resolve();
      const [wr, rr] = await Promise.all([w.wait(), r.wait()]);
      tx = wr.serial;
      rx = rr.serial;
      txBufs[slot] = wr.buffer;
      rxBufs[slot] = rr.buffer;
      const done = rr.buffer;
      await readBack; // the other receive buffer is needed next round
      readBack = done.read().then((bytes) => received.set(bytes, i * chunk));
    }
    await readBack;
    expect(received.length).toBe(total);
    // Byte for byte (first mismatch named, rather than a 64 KiB diff).
    const mismatch = received.findIndex((b, i) => b !== data[i]);
    expect(mismatch).toBe(-1);
    txBufs = [];
    rxBufs = [];
    expect(Serial1.join(tx, rx)).toBeInstanceOf(Serial1);
  });
});

/**
 * The host link with a filter on the board-to-host direction that drops
 * whole frames matching `drop` (decoded body: version, type, seq, payload).
 */
/** Drops (or, with `damage`, corrupts one byte of) the board's frames that `drop` picks. */
function dropFrames(
  inner: Transport,
  drop: (body: Uint8Array) => boolean,
  damage = false,
): Transport & { dropped: number } {
  let pending: number[] = [];
  const filter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const out: number[] = [];
      for (const b of chunk) {
        pending.push(b);
        if (b !== 0) continue;
        const frame = Uint8Array.from(pending);
        pending = [];
        const body = new Uint8Array(frame.length);
        const n = cobsDecode(frame, 0, frame.length - 1, body);
        if (n >= 6 && drop(body.subarray(0, n))) {
          result.dropped++;
          if (!damage) continue;
          // Flip a bit of the first byte without making it a delimiter: the CRC fails.
          frame[1] = frame[1]! ^ (frame[1] === 1 ? 2 : 1);
        }
        for (const x of frame) out.push(x);
      }
      if (out.length > 0) controller.enqueue(Uint8Array.from(out));
    },
  });
  const result = {
    readable: inner.readable.pipeThrough(filter),
    writable: inner.writable,
    close: () => inner.close(),
    dropped: 0,
  };
  return result;
}

const DMA_EVENT = 0x42;
/** A DMA event frame for channel 1 whose flags include `flag` (TC 0x2, HT 0x4). */
const dmaEventWith = (flag: number) => (body: Uint8Array) =>
  body[1] === DMA_EVENT && body[4] === 1 && (body[5]! & flag) !== 0;

describe('lost events', () => {
  async function openDropping(drop: (body: Uint8Array) => boolean, baudRate: number, damage = false) {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: baudRate });
    vb.start();
    let dropping = false;
    // Once armed, drops the next matching frame only.
    const link = dropFrames(
      vb.hostPort(),
      (body) => {
        if (!dropping || !drop(body)) return false;
        dropping = false;
        return true;
      },
      damage,
    );
    const board = await Board.open(link, { timers: virtualTimers(vb) });
    const serial = await Serial1.take(board, { baudRate });
    target = {
      vb,
      board,
      serial,
      warnings: [],
      async dispose() {
        await board.close().catch(() => {});
        await vb.dispose();
      },
    };
    const arm = () => {
      dropping = true;
    };
    return { vb, board, serial, link, arm };
  }

  it("a write whose DMA TC event is lost still completes, once the line is idle (the gap is seen at USART1's TC)", async () => {
    const { vb, board, serial, link, arm } = await openDropping(dmaEventWith(0x2), 115_200);
    const buf = board.alloc(32);
    const data = pattern(32, 8);
    await buf.write(data);
    arm();
    const { transferred } = await serial.writeAll(buf).wait();
    expect(link.dropped).toBe(1);
    expect(board.stats.eventsLost).toBeGreaterThanOrEqual(1);
    expect(transferred).toBe(32);
    expect(peerReceived(vb)).toEqual(data);
    expect(nowNs(vb)).toBeGreaterThanOrEqual(vb.peer.received().at(-1)!.timeNs);
  });

  it('a write whose last event (USART TC) arrives damaged still completes: the damaged frame prompts one re-read', async () => {
    const usartTc = (body: Uint8Array) => body[1] === 0x43 && (body[4]! & (1 << 6)) !== 0;
    const { vb, board, serial, link, arm } = await openDropping(usartTc, 115_200, true);
    const buf = board.alloc(8);
    await buf.write(pattern(8, 3));
    arm();
    // No event follows the damaged one, so no counter gap would ever show it.
    const { transferred } = await serial.writeAll(buf).wait({ timeoutMs: 5_000 });
    expect(link.dropped).toBe(1);
    expect(board.stats.corruptFrames).toBeGreaterThanOrEqual(1);
    expect(transferred).toBe(8);
    expect(peerReceived(vb)).toEqual(pattern(8, 3));
  });

  it("circular reception keeps counting laps across a lost HT event: the next event carries the board's count", async () => {
    // Slow enough that reading each half back over the link keeps up.
    const { vb, board, serial, link, arm } = await openDropping(dmaEventWith(0x4), 38_400);
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    arm();
    const data = pattern(96, 9);
    vb.peer.inject(data.subarray(0, 64)); // HT (dropped), then TC: it says two halves are full
    const it = rec[Symbol.asyncIterator]();
    const halves: Uint8Array[] = [];
    for (let i = 0; i < 2; i++) halves.push((await it.next()).value as Uint8Array);
    vb.peer.inject(data.subarray(64)); // the next lap goes on as usual
    halves.push((await it.next()).value as Uint8Array);
    expect(link.dropped).toBe(1);
    expect(board.stats.eventsLost).toBeGreaterThanOrEqual(1);
    expect(Uint8Array.from(halves.flatMap((h) => [...h]))).toEqual(data);
    await rec.stop();
  });

  it('a lap lost to the reader is still an overrun, even when its events were lost too', async () => {
    const { vb, board, serial, arm } = await openDropping(dmaEventWith(0x4), FAST_BAUD);
    const rec = serial.readCircular(board.alloc(64));
    await rec.started;
    arm();
    vb.peer.inject(pattern(200, 10)); // three halves and more while nobody reads
    await sleepVirtual(vb, 2);
    const error = await rec[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OverrunError);
    await rec.stop();
  });
});
