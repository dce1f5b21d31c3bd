/**
 * (Probe.) close() while reconnect() and recover() run with a reception
 * waiting: every wait ends.
 */
import { describe, expect, it } from 'vitest';
import { openSerialTarget, sleepVirtual } from '../support/api-fixtures.ts';

const settle = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof Error ? e.constructor.name : 'failed'),
  );

describe('close() under reconnect() and recover()', () => {
  it('the reception, reconnect(), recover() and a second reconnect() all end', async () => {
    const t = await openSerialTarget();
    try {
      const { board, vb } = t;
      const rx = t.serial.readExact(board.alloc(64));
      await rx.started;
      const all = [
        settle(rx.wait()),
        settle(board.reconnect()),
        settle(board.recover()),
        settle(board.reconnect()),
      ];
      await board.close();
      const outcomes = await Promise.race([
        Promise.all(all),
        (async () => {
          for (let i = 0; i < 50; i++) {
            await sleepVirtual(vb, 10);
            await new Promise((r) => setTimeout(r, 2));
          }
          return 'hung';
        })(),
      ]);
      expect(outcomes).not.toBe('hung');
    } finally {
      await t.dispose();
    }
  }, 10_000);
});
