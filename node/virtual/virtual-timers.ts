/**
 * The driver's `Timers` on the virtual board's clock: link deadlines and
 * fault-injector delays then run in virtual time, so they mean the same
 * thing whether the emulator runs faster or slower than the wall clock,
 * and figures measured with them are in virtual time.
 */

import type { Timers } from '../../driver/transport/timers.ts';
import type { VirtualBoard } from '../../emulator/index.ts';

type ClockHandle = ReturnType<VirtualBoard['chip']['clock']['schedule']>;

export function virtualTimers(board: VirtualBoard): Timers {
  const clock = board.chip.clock;
  return {
    now: () => clock.nowNs / 1e6,
    setTimeout: (callback, ms) => {
      const handle = clock.schedule(Math.max(0, ms) * 1e6, callback);
      // A board asleep with nothing scheduled waits for input: wake it so it sees the new alarm.
      board.wake();
      return handle;
    },
    clearTimeout: (id) => {
      if (id !== undefined) clock.cancel(id as ClockHandle);
    },
  };
}
