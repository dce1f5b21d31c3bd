/**
 * What every step of the demo works with: the board, the Serial1 handed
 * from step to step (each transfer gives back a fresh owner), and who is on
 * USART1's other end: the virtual peer, the board itself through a PC4–PC5
 * jumper (--loopback), or nobody the demo can see (a real board as it is).
 */
import { Serial1, type SerialRx, type SerialTx } from '../../driver/api/index.ts';
import type { Board } from '../../driver/board/board.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { LoopbackPeer, type UsartPeer, VirtualPeer } from '../peers/index.ts';

export interface DemoContext {
  readonly board: Board;
  /** The in-process virtual board, or undefined on a real one. */
  readonly virtualBoard: VirtualBoard | undefined;
  /** A real board with a jumper from PC4 (D1) to PC5 (D0). */
  readonly loopback: boolean;
  readonly baudRate: number;
  serial: Serial1;
  /** One line of the step's story. */
  say(line: string): void;
}

/** Why a step that needs somebody on USART1 cannot run here, or undefined if it can. */
export function noPeerReason(ctx: DemoContext): string | undefined {
  if (ctx.virtualBoard || ctx.loopback) return undefined;
  return (
    'nobody the demo can see is on USART1 of a real board: put a jumper from PC4 (D1) to PC5 (D0) ' +
    'and run again with --loopback'
  );
}

/**
 * Lends the peer what it needs of the serial for one step: the transmit
 * half when it must send (loopback), the receive half when it must hear;
 * the step gets the other half, and the Serial1 is joined again after.
 */
export async function withPeer(
  ctx: DemoContext,
  work: (
    halves: { tx: SerialTx; rx: SerialRx },
    peer: (lend: 'tx' | 'rx') => UsartPeer,
  ) => Promise<{
    tx?: SerialTx;
    rx?: SerialRx;
  }>,
): Promise<void> {
  const { tx, rx } = ctx.serial.split();
  let loop: LoopbackPeer | undefined;
  const peer = (lend: 'tx' | 'rx'): UsartPeer => {
    if (ctx.virtualBoard) return new VirtualPeer(ctx.virtualBoard.peer);
    loop = new LoopbackPeer(ctx.board, lend === 'tx' ? { tx } : { rx });
    return loop;
  };
  const back = await work({ tx, rx }, peer);
  const lent = (await loop?.giveBack()) ?? {};
  const txBack = back.tx ?? lent.tx ?? tx;
  const rxBack = back.rx ?? lent.rx ?? rx;
  ctx.serial = Serial1.join(txBack, rxBack);
}

/** Virtual time on the virtual board, for the story: " at t = 12.300 ms"; nothing on a real board. */
export function virtualNow(ctx: DemoContext): string {
  const vb = ctx.virtualBoard;
  return vb ? ` at t = ${(vb.nowNs / 1e6).toFixed(3)} ms` : '';
}
