/** The internals the layers above reach a board through: one set per genuine board, nothing for anything else. */
import { describe, expect, it } from 'vitest';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { boardInternals, registerBoardInternals } from './internals.ts';

describe('board internals', () => {
  it('belong to a board opened with Board.open(), once, and are frozen', async () => {
    const { board } = await openBoardOnFake();
    const internals = boardInternals(board);
    expect(Object.isFrozen(internals)).toBe(true);
    expect(internals.chip).toBe(board.chip);
    expect(internals.ledger.size).toBe(board.arena.size);
    expect(() => registerBoardInternals(board, internals)).toThrow(
      new TypeError('this board already has its internals'),
    );
    expect(boardInternals(board)).toBe(internals);
    expect(() => boardInternals({})).toThrow(new TypeError('not a Board opened with Board.open()'));
    await board.close();
  });
});
