import { describe, expect, it } from 'vitest';
import { openBoardOnFake } from '../test-support/board-harness.ts';
import { FAKE } from '../test-support/fake-board.ts';
import { RevokedError } from './errors.ts';

const regReads = (fake: { received: { command: string }[] }) =>
  fake.received.filter((r) => r.command === 'reg-read').length;

describe('Board: every path that opens a session revokes first', () => {
  it('reconnect() revokes every handle before its HELLO goes out: an operation made meanwhile never reaches the board', async () => {
    const { board, fake } = await openBoardOnFake();
    const handle = board.claim('DMA1 channel 1');
    const before = regReads(fake);
    const reconnecting = board.reconnect();
    // Synchronously: nothing of the old session can be sent in the new one.
    expect(() => board.handles.check(handle)).toThrow(RevokedError);
    await expect(board.readRegister(FAKE.CCR1, { handle })).rejects.toBeInstanceOf(RevokedError);
    await reconnecting;
    expect(regReads(fake)).toBe(before);
    await board.close();
  });

  it('recover() with the link down revokes before it sends anything', async () => {
    const { board, fake } = await openBoardOnFake();
    const handle = board.claim('DMA1 channel 1');
    fake.reset({ bootEvent: false });
    await expect(board.readRegister(FAKE.CCR1)).rejects.toThrow();
    const recovering = board.recover();
    expect(() => board.handles.check(handle)).toThrow(RevokedError);
    await recovering;
    expect(board.state).toBe('open');
    await board.close();
  });
});
