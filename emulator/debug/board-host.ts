/** The virtual board as a debug host: its loop holds, steps and resets the whole chip. */
import type { VirtualBoard } from '../host/virtual-board.ts';
import type { DebugHost } from './debug-host.ts';

export function boardDebugHost(board: VirtualBoard): DebugHost {
  return {
    cpu: board.chip.cpu,
    bus: board.chip.bus,
    get held() {
      return board.held;
    },
    hold: () => board.hold(),
    release: () => board.release(),
    step: () => board.stepInstruction(),
    reset: () => board.reset(),
    onRunStop: (listener) => board.onRunStop(listener),
  };
}
