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

/** Requests in flight at once in the pipelined measurements. */
const WINDOW = 64;

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
  const partial: { -readonly [K in keyof BenchResult]?: Rate } = {};
  /** The measurement under way: an interruption reports what it had done. */
  let current: { name: keyof BenchResult; done: number; starts: number[] } | undefined;
  const rate = (ops: number, starts: readonly number[]): Rate => ({
    ops,
    perSecond: Object.fromEntries(
      clocks.map((c, i) => [c.name, ops / (Math.max(1e-6, c.now() - (starts[i] ?? 0)) / 1000)]),
    ),
  });
  const interrupted = (): BenchInterrupted => {
    if (current && current.done > 0) partial[current.name] = rate(current.done, current.starts);
    return new BenchInterrupted(partial);
  };
  const measure = async (name: keyof BenchResult, ops: number, run: () => Promise<void>): Promise<Rate> => {
    current = { name, done: 0, starts: clocks.map((c) => c.now()) };
    await run();
    const measured = rate(ops, current.starts);
    current = undefined;
    return measured;
  };
  const stopIfAsked = () => {
    if (signal?.aborted) throw interrupted();
  };
  // Pipelined: up to WINDOW requests in flight at once (more than the
  // link's own window, so it stays full), the next one issued as each is
  // answered. An interruption issues no more and lets those in flight be
  // answered (a request cannot be taken back once sent), so the link is
  // left in order. The signal is looked at here, never handed to each
  // request: a million requests would hang a million listeners on it.
  const pipelined = async (n: number, weight: number, make: () => Promise<unknown>): Promise<void> => {
    let issued = 0;
    let failure: unknown;
    const lane = async (): Promise<void> => {
      while (issued < n && failure === undefined && !signal?.aborted) {
        issued++;
        try {
          await make();
          if (current) current.done += weight;
        } catch (error) {
          failure ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, lane));
    if (failure !== undefined) throw failure;
    stopIfAsked();
  };
  try {
    return await runAll();
  } catch (error) {
    if (error instanceof BenchInterrupted) throw error;
    // Whatever an interruption cut short.
    if (signal?.aborted) throw interrupted();
    throw error;
  }

  async function runAll(): Promise<BenchResult> {
    partial.roundTrips = await measure('roundTrips', counts.roundTrips, async () => {
      for (let i = 0; i < counts.roundTrips; i++) {
        stopIfAsked();
        await board.ping();
        if (current) current.done++;
      }
    });
    stopIfAsked();
    partial.pipelinedReads = await measure('pipelinedReads', counts.reads, () =>
      pipelined(counts.reads, 1, () => board.readRegister(address)),
    );
    stopIfAsked();
    partial.batchedReads = await measure('batchedReads', counts.batches * counts.batchSize, () =>
      pipelined(counts.batches, counts.batchSize, () =>
        board.raw.batch((b) => {
          for (let k = 0; k < counts.batchSize; k++) b.read(address);
        }),
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
