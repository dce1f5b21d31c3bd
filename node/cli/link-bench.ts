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

/** The measurement was stopped (Ctrl-C): what was measured by then. */
export class BenchInterrupted extends Error {
  override name = 'BenchInterrupted';
  constructor(readonly partial: Partial<BenchResult>) {
    super('the benchmark was interrupted');
  }
}

/**
 * Runs the three measurements; `signal` stops them between operations
 * (BenchInterrupted, with what was measured), once every request sent has
 * been answered, so the link is left in order.
 */
export async function benchLink(
  board: Board,
  counts: BenchCounts,
  clocks: readonly Clock[],
  signal?: AbortSignal,
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
  const partial: { -readonly [K in keyof BenchResult]?: Rate } = {};
  const stopIfAsked = () => {
    if (signal?.aborted) throw new BenchInterrupted(partial);
  };
  // Pipelined: all queued at once. On an interruption the ones not yet
  // sent are dropped; the ones sent are answered first (a request cannot be
  // taken back once sent), so the link is left in order.
  const queued = async (n: number, make: () => Promise<unknown>) => {
    const results = await Promise.allSettled(Array.from({ length: n }, make));
    stopIfAsked();
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  };
  const options = signal ? { signal } : {};
  try {
    return await runAll();
  } catch (error) {
    // Whatever an interruption cut short (an abandoned request rejects with the signal's reason).
    if (signal?.aborted) throw new BenchInterrupted(partial);
    throw error;
  }

  async function runAll(): Promise<BenchResult> {
    partial.roundTrips = await measure(counts.roundTrips, async () => {
      for (let i = 0; i < counts.roundTrips; i++) {
        stopIfAsked();
        await board.ping(undefined, options);
      }
    });
    stopIfAsked();
    partial.pipelinedReads = await measure(counts.reads, () =>
      queued(counts.reads, () => board.readRegister(address, options)),
    );
    stopIfAsked();
    partial.batchedReads = await measure(counts.batches * counts.batchSize, () =>
      queued(counts.batches, () =>
        board.raw.batch((b) => {
          for (let k = 0; k < counts.batchSize; k++) b.read(address);
        }, options),
      ),
    );
    stopIfAsked();
    return {
      roundTrips: partial.roundTrips,
      pipelinedReads: partial.pipelinedReads,
      batchedReads: partial.batchedReads,
    };
  }
}
