/**
 * After board.recover() every older handle is revoked: "every operation
 * started from here on with an older handle fails before it is sent". A
 * Transfer of before the recovery, stopped (or disposed) afterwards, must not
 * reach the channel a new transfer now runs on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Serial1 } from '../../driver/api/index.ts';
import { FAST_BAUD, openSerialTarget, type SerialTarget } from '../support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

const CCR1 = 0x4002_0008;

describe('a Transfer of before recover()', () => {
  for (const how of ['stop', 'asyncDispose'] as const) {
    it(`${how}() does not stop the transfer that runs on its channel now`, async () => {
      t = await openSerialTarget();
      const { board, serial, vb } = t;
      const old = serial.readExact(board.alloc(16));
      await old.started;
      await board.recover();
      const fresh = await Serial1.take(board, { baudRate: FAST_BAUD });
      const now = fresh.readExact(board.alloc(16));
      await now.started;
      const waiting = now.wait();
      waiting.catch(() => {});
      const outcome =
        how === 'stop'
          ? await old.stop().then(
              () => 'resolved',
              (e: Error) => e.name,
            )
          : await old[Symbol.asyncDispose]().then(
              () => 'resolved',
              (e: Error) => e.name,
            );
      await new Promise((r) => setTimeout(r, 100));
      const running = (vb.chip.bus.read(CCR1, 4) & 1) === 1;
      console.log(how, 'of the old transfer:', outcome, '; the new one runs:', running);
      expect(running).toBe(true);
    });
  }
});
