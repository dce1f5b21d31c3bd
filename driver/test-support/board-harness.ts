/** Opens a Board on a fake board end. */

import { Board, type BoardOptions } from '../board/board.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { FakeBoard, type FakeBoardOptions } from './fake-board.ts';

export async function openBoardOnFake(
  options: { board?: BoardOptions; fake?: FakeBoardOptions } = {},
): Promise<{ board: Board; fake: FakeBoard }> {
  const { host, device } = createMemoryTransportPair();
  const fake = new FakeBoard(device, options.fake);
  const board = await Board.open(host, { retransmitTimeoutMs: 20, maxRetries: 5, ...options.board });
  return { board, fake };
}
