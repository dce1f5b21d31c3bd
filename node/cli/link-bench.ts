/**
 * How fast the link to a board goes: PING round trips one at a time (the
 * latency floor of every operation), and register reads one per request
 * but pipelined (the link's window kept full) and 64 to a REG_BATCH.
 * Each figure is measured on every clock given: wall time always, and the
 * virtual board's own clock when there is one (what a real board at the
 * same line rate would do, however fast the emulator runs).
 */
import type { Board } from '../../driver/board/board.ts';

export interface BenchCounts {
  readonly roundTrips: number;
  readonly reads: number;
  readonly batches: number;
  readonly batchSize: number;
}

export interface Clock {
  readonly name: string;
  /** Milliseconds. */
  now(): number;
}

export interface Rate {
  readonly ops: number;
  /** Per clock name: operations per second. */
  readonly perSecond: Record<string, number>;
}

export interface BenchResult {
  readonly roundTrips: Rate;
  readonly pipelinedReads: Rate;
  readonly batchedReads: Rate;
}

export async function benchLink(
  board: Board,
  counts: BenchCounts,
  clocks: readonly Clock[],
): Promise<BenchResult> {
  // A register every board allows reading, with no side effect.
  const address = board.chip.dma.channels[0]!.cmar.address;
  const measure = async (ops: number, run: () => Promise<unknown>): Promise<Rate> => {
    const starts = clocks.map((c) => c.now());
    await run();
    const perSecond = Object.fromEntries(
      clocks.map((c, i) => [c.name, ops / (Math.max(1e-6, c.now() - (starts[i] ?? 0)) / 1000)]),
    );
    return { ops, perSecond };
  };
  const roundTrips = await measure(counts.roundTrips, async () => {
    for (let i = 0; i < counts.roundTrips; i++) await board.ping();
  });
  const pipelinedReads = await measure(counts.reads, () =>
    Promise.all(Array.from({ length: counts.reads }, () => board.readRegister(address))),
  );
  const batchedReads = await measure(counts.batches * counts.batchSize, () =>
    Promise.all(
      Array.from({ length: counts.batches }, () =>
        board.batch((b) => {
          for (let k = 0; k < counts.batchSize; k++) b.read(address);
        }),
      ),
    ),
  );
  return { roundTrips, pipelinedReads, batchedReads };
}
