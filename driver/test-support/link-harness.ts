/** Opens a Link on a fake board, optionally through a fault injector. */

import { Link, type LinkOptions } from '../link/link.ts';
import { FaultInjector, type FaultInjectorOptions } from '../transport/fault-injector.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import type { Transport } from '../transport/transport.ts';
import { FakeBoard, type FakeBoardOptions } from './fake-board.ts';

export interface Harness {
  link: Link;
  board: FakeBoard;
  injector: FaultInjector | undefined;
  host: Transport;
}

export async function openOnFake(
  options: { link?: LinkOptions; board?: FakeBoardOptions; faults?: FaultInjectorOptions } = {},
): Promise<Harness> {
  const { host, device } = createMemoryTransportPair();
  const board = new FakeBoard(device, options.board);
  const injector = options.faults ? new FaultInjector(host, options.faults) : undefined;
  const transport = injector ?? host;
  const link = await Link.open(transport, { retransmitTimeoutMs: 20, maxRetries: 8, ...options.link });
  return { link, board, injector, host: transport };
}
