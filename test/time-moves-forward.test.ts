/**
 * Virtual time always moves forward: a line that damages, drops and delays
 * 1 % of its bytes leaves frames half-received, and the link's timer that
 * gives such a frame up once the line is quiet must never re-arm itself so
 * short that the board's clock cannot move. The run is guarded by the wall
 * clock: should the clock stop, the guard makes the next timer a long one
 * (which frees the process) and the test fails saying so.
 */

import { describe, expect, it } from 'vitest';
import { Board } from '../driver/board/index.ts';
import { DriverError } from '../driver/driver-error.ts';
import { FaultInjector, mulberry32 } from '../driver/transport/index.ts';
import type { Timers } from '../driver/transport/timers.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

// Its first run stopped the clock 37 ms in, before time had a floor.
const seed = Number(process.env.TIME_SEED ?? 2056);
const RUNS = Number(process.env.TIME_RUNS ?? 1);
const OPERATIONS = Number(process.env.TIME_OPS ?? 40);
/** Far beyond what a run takes (about a second): reaching it means virtual time stood still. */
const WALL_LIMIT_MS = 20_000;

/** The board's timers, with a wall-clock guard that breaks a clock standing still. */
function guarded(inner: Timers, wallDeadline: number, stuck: { at: number | undefined }): Timers {
  return {
    now: () => inner.now(),
    setTimeout: (callback, ms) => {
      if (Date.now() > wallDeadline) {
        stuck.at ??= inner.now();
        return inner.setTimeout(callback, Math.max(ms, 1_000));
      }
      return inner.setTimeout(callback, ms);
    },
    clearTimeout: (id) => inner.clearTimeout(id),
  };
}

async function runOnce(runSeed: number): Promise<{ stuckAt: number | undefined; done: number }> {
  const rng = mulberry32(runSeed);
  const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
  vb.start();
  const stuck: { at: number | undefined } = { at: undefined };
  const timers = guarded(virtualTimers(vb), Date.now() + WALL_LIMIT_MS, stuck);
  const injector = new FaultInjector(vb.hostPort(), { seed: runSeed, timers });
  const board = await Board.open(injector, {
    timers,
    random: () => rng.next(),
    retransmitTimeoutMs: 40,
    maxRetries: 4,
  });
  const mix = { bitFlip: 2e-3, drop: 2e-3, duplicate: 2e-3, garbage: 2e-3, delay: 2e-3, delayMs: 5 };
  injector.setFaults('toDevice', mix);
  injector.setFaults('fromDevice', mix);
  let done = 0;
  try {
    for (let i = 0; i < OPERATIONS && stuck.at === undefined; i++) {
      try {
        const data = new Uint8Array(1 + rng.int(600)).map(() => rng.byte());
        const buf = board.alloc(data.length);
        await buf.write(data);
        await buf.read();
        buf.free();
        done++;
      } catch (e) {
        if (!(e instanceof DriverError)) throw e;
        await board.recover().catch((r: unknown) => {
          if (!(r instanceof DriverError)) throw r;
        });
      }
    }
  } finally {
    await board.close().catch(() => {});
    await vb.dispose();
  }
  return { stuckAt: stuck.at, done };
}

describe('virtual time always moves forward', () => {
  it(`a 1 % fault mix over virtual timers never stops the clock (seed ${seed}, ${RUNS} runs)`, async () => {
    for (let r = 0; r < RUNS; r++) {
      const { stuckAt, done } = await runOnce(seed + r);
      const where = `seed ${seed + r}: replay with TIME_SEED=${seed}`;
      expect(stuckAt, `virtual time stood still at ${stuckAt} ms; ${where}`).toBeUndefined();
      expect(done, where).toBeGreaterThan(0);
    }
  }, 90_000);
});
