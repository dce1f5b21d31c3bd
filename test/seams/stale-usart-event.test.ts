/**
 * USART events carry no start number: only their counter tells an old one
 * from a new one. Two consecutive USART events of earlier receptions,
 * delayed on the line and arriving together, pass the counter check (the
 * first looks stale, the second "continues" it and counts as a jump) and the
 * second is handed to the reception running now as if its line went idle.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import { Board } from '../../driver/board/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD, pattern } from '../support/api-fixtures.ts';
import { delayingTransport } from '../support/delaying-transport.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

const USART_EVENT = 0x43;
const isUsartEvent = (b: Uint8Array) => b.length >= 4 && b[1] === USART_EVENT;
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
});
