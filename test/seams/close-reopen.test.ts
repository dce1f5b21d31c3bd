/**
 * board.close() with a reception running, then a new Board on the same
 * virtual board: the old wait ends, and the new board's memory is not under
 * the old DMA.
 */
import { describe, expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import { Board } from '../../driver/board/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { FAST_BAUD, pattern } from '../support/api-fixtures.ts';
import { loadFirmware } from '../support/firmware.ts';
import { virtualTimers } from '../support/virtual-timers.ts';

const CCR1 = 0x4002_0008;

describe('close with a transfer running, then open again', () => {
  it('the old wait ends and the new allocation is not written by the old DMA', async () => {
    const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', peerBaudRate: FAST_BAUD });
    vb.start();
    const timers = virtualTimers(vb);
    const sleep = (ms: number) => new Promise<void>((r) => timers.setTimeout(r, ms));
    const port = vb.hostPort();
    const board = await Board.open(port, { timers, linkBaud: 'boot' });
    let second: Board | undefined;
    try {
      const serial = await Serial1.take(board, { baudRate: FAST_BAUD });
      const rx = serial.readExact(board.alloc(64));
      await rx.started;
      const waiting = rx.wait().then(
        () => 'resolved',
        (e: unknown) => (e instanceof Error ? e.constructor.name : 'failed'),
      );
      await board.close();
      const ended = await Promise.race([waiting, sleep(100).then(() => 'still waiting')]);
      second = await Board.open(vb.hostPort(), { timers, linkBaud: 'boot' });
      const next = second.alloc(64);
      await next.write(new Uint8Array(64));
      vb.peer.inject(pattern(64, 3));
      await sleep(10);
      const back = await next.read();
      expect({
        ended: ended !== 'still waiting',
        ccr1On: (vb.chip.bus.read(CCR1, 4) & 1) === 1,
        nextWritten: back.some((b) => b !== 0),
      }).toEqual({ ended: true, ccr1On: false, nextWritten: false });
    } finally {
      await second?.close().catch(() => {});
      await board.close().catch(() => {});
      await vb.dispose();
    }
  }, 10_000);
});
