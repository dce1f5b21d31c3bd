/**
 * (Holds.) Raw MEM_WRITE cannot reach DMA1 registers: a CCR start written
 * as memory would escape the ledger's watch of raw starts.
 */
import { describe, expect, it } from 'vitest';
import { openVirtualTarget } from '../support/virtual-target.ts';

describe('raw MEM_WRITE into DMA1 registers', () => {
  it('is refused by the board', async () => {
    const t = await openVirtualTarget();
    try {
      const word = new Uint8Array([0, 0, 0, 0]);
      const outcome = await t.board.raw.writeMemory(0x4002_0008, word).then(
        () => 'accepted',
        (e: unknown) => (e instanceof Error ? e.constructor.name : 'failed'),
      );
      expect(outcome).not.toBe('accepted');
    } finally {
      await t.dispose();
    }
  }, 10_000);
});
