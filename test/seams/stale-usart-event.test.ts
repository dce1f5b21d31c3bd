/**
 * A USART event names the start of each DMA channel when its interrupt ran
 * (PROTOCOL.md §3, firmware 2.4), and a transfer acts on one only when it
 * names the transfer's own start. Events of earlier transfers can arrive
 * late, and the link hands some of them on: two consecutive events delayed
 * on the line and arriving together pass the counter check (the first
 * looks stale, the second "continues" it and counts as a jump), and the
 * second reaches the transfer running now. Before USART events named
 * their start, such an event's TC ended a later write while its last bytes
 * were still on the wire, and its framing error failed a later reception.
 */
import { describe, expect, it } from 'vitest';
import { Serial1, SerialError } from '../../driver/api/index.ts';
import { serialSideOf } from '../../driver/api/serial1.ts';
import { Board } from '../../driver/board/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD, pattern } from '../support/api-fixtures.ts';
import { delayingTransport } from '../support/delaying-transport.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

const USART_EVENT = 0x43;
const DMA_EVENT = 0x42;
const isUsartEvent = (b: Uint8Array) => b.length >= 4 && b[1] === USART_EVENT;
/** Channel 1's DMA TC, or USART1's TC: the two events that end a write. */
const endOfWrite = (b: Uint8Array) =>
  b.length >= 6 &&
  ((b[1] === DMA_EVENT && b[4] === 1 && (b[5]! & 2) !== 0) || (b[1] === USART_EVENT && (b[4]! & 0x40) !== 0));
/**
 * A rate at which a character lasts long enough (10 ms) to see a write end
 * early; 64 MHz / 1000 is exact, so the peer hears each character as it ends.
 */
const SLOW_BAUD = 1000;
const CCR2 = 0x4002_001c;

describe('stale USART events in one session', () => {
  it('a readUntilIdle() with a silent peer is not completed by an IDLE of an earlier reception', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const line = delayingTransport(vb.hostPort());
    const board = await Board.open(line.transport, { timers });
    try {
      let { rx } = (await Serial1.take(board, { baudRate: FAST_BAUD })).split();
      // Two receptions whose IDLE events are held back on the line; each is stopped by the host.
      for (let i = 0; i < 2; i++) {
        line.hold(isUsartEvent);
        const t = rx.readUntilIdle(board.alloc(64));
        await t.started;
        vb.peer.inject(pattern(4, i));
        await sleep(5);
        expect(line.held).toBe(i + 1);
        const done = await t.stop();
        done.buffer.free();
        rx = done.serial;
      }
      // The reception under test: the peer has sent nothing yet.
      const third = rx.readUntilIdle(board.alloc(64));
      await third.started;
      const waiting = third.wait();
      waiting.catch(() => {});
      line.release(); // the two old IDLE events arrive now
      await sleep(20);
      const early = await Promise.race([
        waiting.then(
          (r) => r,
          () => 'failed',
        ),
        sleep(5).then(() => undefined),
      ]);
      const runningBeforePeerSpoke = (vb.chip.bus.read(CCR2, 4) & 1) === 1;
      // The peer now sends what the third reception waits for.
      const sent = pattern(8, 9);
      vb.peer.inject(sent);
      const result = await Promise.race([waiting.catch(() => undefined), sleep(200).then(() => undefined)]);
      const got = result ? Array.from(await result.buffer.read(0, result.transferred)) : [];
      expect({
        endedBeforePeerSpoke: early !== undefined,
        runningBeforePeerSpoke,
        received: got,
      }).toEqual({ endedBeforePeerSpoke: false, runningBeforePeerSpoke: true, received: Array.from(sent) });
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);

  it('after a reset, a readUntilIdle() with a silent peer is not completed by an IDLE of the earlier boot', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const line = delayingTransport(vb.hostPort());
    const board = await Board.open(line.transport, { timers });
    try {
      let { rx } = (await Serial1.take(board, { baudRate: FAST_BAUD })).split();
      // Four receptions in the old boot; the last one's IDLE event is held back on the line.
      for (let i = 0; i < 4; i++) {
        if (i === 3) line.hold(isUsartEvent);
        const t = rx.readUntilIdle(board.alloc(64));
        await t.started;
        vb.peer.inject(pattern(4, i));
        await sleep(5);
        const done = await t.stop();
        done.buffer.free();
        rx = done.serial;
      }
      expect(line.held).toBe(1);
      vb.reset();
      await sleep(20);
      await board.reconnect().catch(() => board.reconnect());
      rx = (await Serial1.take(board, { baudRate: FAST_BAUD })).split().rx;
      // The reception under test, in the new boot: the peer has sent nothing yet.
      const third = rx.readUntilIdle(board.alloc(64));
      await third.started;
      const waiting = third.wait();
      waiting.catch(() => {});
      line.release(); // the old boot's IDLE event arrives now
      await sleep(20);
      const early = await Promise.race([
        waiting.then(
          (r) => r,
          () => 'failed',
        ),
        sleep(5).then(() => undefined),
      ]);
      const runningBeforePeerSpoke = (vb.chip.bus.read(CCR2, 4) & 1) === 1;
      // The peer now sends what the third reception waits for.
      const sent = pattern(8, 9);
      vb.peer.inject(sent);
      const result = await Promise.race([waiting.catch(() => undefined), sleep(200).then(() => undefined)]);
      const got = result ? Array.from(await result.buffer.read(0, result.transferred)) : [];
      expect({
        endedBeforePeerSpoke: early !== undefined,
        runningBeforePeerSpoke,
        received: got,
      }).toEqual({ endedBeforePeerSpoke: false, runningBeforePeerSpoke: true, received: Array.from(sent) });
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);

  it('a writeAll() is not ended by the TC of an earlier write while its last bytes are on the wire', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: SLOW_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const line = delayingTransport(vb.hostPort());
    const board = await Board.open(line.transport, { timers });
    try {
      let serial = await Serial1.take(board, { baudRate: SLOW_BAUD });
      // An earlier write whose two events (DMA TC, then USART TC) are held
      // back on the line: it ends by re-reading its channel.
      line.hold(endOfWrite, 2);
      const out = board.alloc(1);
      await out.write(Uint8Array.of(0x5a));
      const first = await serial.writeAll(out).wait();
      expect(line.held).toBe(2);
      first.buffer.free();
      serial = first.serial;
      vb.peer.clear();

      // The write under test: the old events arrive once its DMA is done,
      // when its last two characters are still to leave.
      const sent = pattern(8, 3);
      const buffer = board.alloc(sent.length);
      await buffer.write(sent);
      const stopListening = board.subscribe((n) => {
        if (n.kind === 'dma' && n.channel === 1 && n.tc && line.held > 0) line.release();
      });
      const { engine } = serialSideOf(serial);
      const done = await serial.writeAll(buffer).wait();
      const onTheWireAtTheEnd = vb.peer.received().length;
      stopListening();
      // The old TC reached the write's channel, which saw it name another start.
      expect({
        released: line.held,
        ignored: engine.staleUsartEvents,
        peerHadAll: onTheWireAtTheEnd,
      }).toEqual({
        released: 0,
        ignored: 1,
        peerHadAll: sent.length,
      });
      expect(vb.peer.received().map((r) => r.byte)).toEqual(Array.from(sent));
      done.buffer.free();
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 20_000);

  it('a readExact() is not failed by the framing errors of earlier receptions', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const line = delayingTransport(vb.hostPort());
    const board = await Board.open(line.transport, { timers });
    try {
      let serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      // Two receptions that each hear a framing error, whose events are held
      // back on the line; each is stopped by the host.
      for (let i = 0; i < 2; i++) {
        line.hold(isUsartEvent);
        const t = serial.readExact(board.alloc(16));
        await t.started;
        vb.peer.injectError('framing', 0x55);
        await sleep(5);
        expect(line.held).toBe(i + 1);
        const done = await t.stop();
        done.buffer.free();
        serial = done.serial;
      }
      // The reception under test: the old errors arrive while it waits.
      const { engine } = serialSideOf(serial);
      const third = serial.readExact(board.alloc(8));
      await third.started;
      const waiting = third.wait();
      waiting.catch(() => {});
      line.release();
      await sleep(20);
      const sent = pattern(8, 5);
      vb.peer.inject(sent);
      const outcome = await waiting.then(
        async (r) => Array.from(await r.buffer.read(0, r.transferred)),
        (e: unknown) => (e instanceof SerialError ? `SerialError: ${e.kinds.join(', ')}` : String(e)),
      );
      expect({ outcome, ignored: engine.staleUsartEvents }).toEqual({
        outcome: Array.from(sent),
        ignored: 1,
      });
    } finally {
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 20_000);
});
