/**
 * CircularReception.rest() reads what came after the last half through the
 * buffer stop() handed back: once that buffer is freed and its memory lent
 * to someone else, rest() fails with the buffer's error instead of
 * returning their bytes as bytes from the peer.
 */
import { describe, expect, it } from 'vitest';
import { openSerialTarget, pattern, sleepVirtual } from '../support/api-fixtures.ts';

describe('readCircular() rest() after the memory changed hands', () => {
  it('never returns bytes another buffer owns', async () => {
    const t = await openSerialTarget();
    try {
      const { board, vb, serial } = t;
      const rx = serial.readCircular(board.alloc(64));
      await rx.started;
      const sent = pattern(10, 4); // less than a half: only rest() returns them
      vb.peer.inject(sent);
      await sleepVirtual(vb, 5);
      const { buffer } = await rx.stop();
      const address = buffer.address;
      buffer.free();
      const other = board.alloc(64); // another part of the program
      await other.write(new Uint8Array(64).fill(0xee));
      expect(other.address).toBe(address);
      await expect(rx.rest()).rejects.toThrow(/freed/i);
    } finally {
      await t.dispose();
    }
  }, 10_000);

  it('returns the bytes after the last half while the handed-back buffer is still held', async () => {
    const t = await openSerialTarget();
    try {
      const { board, vb, serial } = t;
      const rx = serial.readCircular(board.alloc(64));
      await rx.started;
      const sent = pattern(10, 4);
      vb.peer.inject(sent);
      await sleepVirtual(vb, 5);
      await rx.stop();
      expect(Array.from(await rx.rest())).toEqual(Array.from(sent));
    } finally {
      await t.dispose();
    }
  }, 10_000);
});
