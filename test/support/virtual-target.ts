/**
 * A virtual Nucleo-G071RB running the real bridge firmware, with the
 * driver's Board open on it: the whole system, in process.
 */

import { Board } from '../../driver/board/index.ts';
import { VirtualBoard } from '../../emulator/index.ts';
import { loadFirmware } from './firmware.ts';
import { virtualTimers } from './virtual-timers.ts';

export interface VirtualTarget {
  readonly vb: VirtualBoard;
  readonly board: Board;
  dispose(): Promise<void>;
}

export async function openVirtualTarget(
  options: { usart1?: 'peer' | 'loopback'; peerBaudRate?: number } = {},
): Promise<VirtualTarget> {
  const vb = new VirtualBoard({
    firmware: loadFirmware(),
    usart1: options.usart1 ?? 'peer',
    // The device on USART1 runs at the rate the test gives Serial1 (115200 unless told).
    ...(options.peerBaudRate === undefined ? {} : { peerBaudRate: options.peerBaudRate }),
  });
  vb.start();
  const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb) });
  return {
    vb,
    board,
    async dispose() {
      await board.close().catch(() => {});
      await vb.dispose();
    },
  };
}

/** Bytes the virtual peer received on USART1, as text. */
export function peerText(vb: VirtualBoard): string {
  return new TextDecoder().decode(Uint8Array.from(vb.peer.received().map((r) => r.byte)));
}

/** Waits (in real time, bounded) until the peer has received `count` bytes. */
export async function peerBytes(vb: VirtualBoard, count: number, timeoutMs = 20_000): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  while (vb.peer.received().length < count) {
    if (Date.now() > deadline) throw new Error(`the peer got ${vb.peer.received().length} of ${count} bytes`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Uint8Array.from(vb.peer.received().map((r) => r.byte));
}
