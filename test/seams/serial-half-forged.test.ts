/**
 * A serial half is one owner of one DMA channel: only Serial1.split() makes
 * them, so no program can hold a second SerialTx writing into the middle of
 * a running writeAll(), or a second SerialRx reading what a running
 * readExact() owns.
 */
import { describe, expect, it } from 'vitest';
import { SerialHalfConstructionError, SerialRx, SerialTx } from '../../driver/api/index.ts';
import { openSerialTarget, pattern, sleepVirtual } from '../support/api-fixtures.ts';
import { peerBytes } from '../support/virtual-target.ts';

type Ctor = new (...args: unknown[]) => unknown;

describe('serial halves have one owner each', () => {
  it('cannot be constructed outside split(), whatever is passed', async () => {
    const t = await openSerialTarget();
    try {
      const { board, vb, serial } = t;
      const { tx, rx } = serial.split();
      // Nothing a half exposes leads to its port or engine.
      for (const half of [tx, rx] as object[]) {
        expect(Object.getOwnPropertyNames(half)).toEqual([]);
        expect(Object.isFrozen(half)).toBe(true);
      }
      const data = board.alloc(64);
      await data.write(pattern(64, 1));
      const sending = tx.writeAll(data);
      await sending.started;
      for (const [Half, args] of [
        [SerialTx, [tx]],
        [SerialTx, [rx, Symbol('Serial1 half')]],
        [SerialRx, [tx, undefined]],
        [SerialRx, [rx, rx, Symbol('Serial1 half')]],
      ] as [Ctor, unknown[]][]) {
        expect(() => new Half(...args)).toThrow(SerialHalfConstructionError);
      }
      await sending.wait();
      await sleepVirtual(vb, 2);
      // The peer got the DMA's bytes and nothing else.
      expect(Array.from(await peerBytes(vb, 64))).toEqual(Array.from(pattern(64, 1)));
      expect(vb.peer.received()).toHaveLength(64);
    } finally {
      await t.dispose();
    }
  }, 10_000);
});
