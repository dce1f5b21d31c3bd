/**
 * Failures the driver reports as its own typed errors, never as a plain
 * Error, a TypeError or an unhandled rejection: a second start on a busy
 * channel, and a stream writer aborted while the session is being reopened.
 * On the real firmware on the virtual board.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { ChannelBusyError, type Serial1 } from '../driver/api/index.ts';
import { writeAll } from '../driver/api/serial-dma.ts';
import { OwnerToken } from '../driver/board/ownership.ts';
import { DriverError } from '../driver/driver-error.ts';
import { openSerialTarget, pattern, type SerialTarget, sleepVirtual } from './support/api-fixtures.ts';

const targets: SerialTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.dispose();
});

async function open(): Promise<SerialTarget> {
  const t = await openSerialTarget({ baudRate: 115_200 });
  targets.push(t);
  return t;
}

describe('a start on a channel that runs a transfer', () => {
  it('is ChannelBusyError, thrown before anything moves or is sent', async () => {
    const { board, serial } = await open();
    const running = serial.writeAll(board.alloc(64));
    await running.started;
    // A second owner of the same channel (the API never makes one; reached from the inside).
    const side = (serial as unknown as { side: Parameters<typeof writeAll<Serial1>>[0] }).side;
    const other = { ...side, token: new OwnerToken('another Serial1', 'n/a') };
    const buf = board.alloc(8);
    const sentBefore = board.stats.framesSent;
    const error = (() => {
      try {
        writeAll(other, buf);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ChannelBusyError);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as ChannelBusyError).channel).toBe(1);
    expect(board.stats.framesSent).toBe(sentBefore);
    expect(buf.usable).toBe(true);
    await running.wait();
  });
});

describe('StreamWriter.abort() while the board reconnects', () => {
  it('leaves no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let round = 0; round < 2; round++) {
        const { board, vb, serial } = await open();
        const writer = serial.streamWriter({ chunkSize: 256 });
        void board.reconnect().catch(() => {}); // not awaited
        const writing = writer.write(pattern(1024, round)).catch((e: unknown) => e);
        const closed = await writer.close().catch((e: unknown) => e);
        await writing;
        expect(closed).toBeInstanceOf(DriverError);
        await writer.abort().catch(() => {});
        await sleepVirtual(vb, 5);
        // Let Node report rejections left without a handler.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});
