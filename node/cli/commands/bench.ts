/** `dma-bridge bench`: link round trips and register operations per second on the chosen board. */
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { interruption } from '../errors.ts';
import { table } from '../layout.ts';
import { BenchInterrupted, type BenchResult, benchLink, type Clock, type Rate } from '../link-bench.ts';
import { boardOptionSpecs, boardOptionsSchema, wholeNumber } from '../options.ts';

const BATCH = 64;

const schema = boardOptionsSchema.extend({
  'round-trips': wholeNumber(1, 100_000, 'a number of round trips').default(200),
  reads: wholeNumber(1, 1_000_000, 'a number of register reads').default(1000),
  batches: wholeNumber(1, 10_000, 'a number of batches').default(20),
});

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'measure link round trips and register operations per second',
  synopsis: '[--round-trips N] [--reads N] [--batches N] [--port PATH|tcp://host:port] [--json]',
  details: [
    '--round-trips N   PINGs, one at a time (default 200)',
    '--reads N         register reads, one per request, pipelined (default 1000)',
    `--batches N       REG_BATCH requests of ${BATCH} reads each (default 20)`,
    "On the in-process virtual board the figures are given in wall time and in the board's virtual time,",
    'which is what a real board at the same line rate would do.',
  ],
  options: {
    ...boardOptionSpecs,
    'round-trips': { type: 'string' },
    reads: { type: 'string' },
    batches: { type: 'string' },
  },
  allowPositionals: false,
  schema,
  async run(args, io) {
    await withBoard(args, io, async (board, connection) => {
      const vb = connection.virtualBoard;
      const clocks: Clock[] = [{ name: 'wall', now: () => performance.now() }];
      if (vb) clocks.push({ name: 'virtual', now: () => vb.nowNs / 1e6 });
      io.note(`measuring on ${connection.description} (link ${board.hello.linkBaud} baud)`);
      let result: BenchResult;
      try {
        result = await benchLink(
          board,
          { roundTrips: args['round-trips'], reads: args.reads, batches: args.batches, batchSize: BATCH },
          clocks,
          io.interrupted,
        );
      } catch (error) {
        if (!(error instanceof BenchInterrupted)) throw error;
        const done = Object.entries(error.partial)
          .map(
            ([name, rate]) =>
              `${name} ${rate.ops} ops, ${clocks.map((c) => `${Math.round(rate.perSecond[c.name] ?? 0)}/s ${c.name}`).join(', ')}`,
          )
          .join('; ');
        throw interruption(done ? `measured ${done}` : 'nothing measured yet', {
          board: connection.description,
          linkBaud: board.hello.linkBaud,
          ...toJson(error.partial),
        });
      }
      if (args.json) {
        io.out(
          JSON.stringify({
            board: connection.description,
            linkBaud: board.hello.linkBaud,
            ...toJson(result),
          }),
        );
        return;
      }
      const cell = (rate: Rate) =>
        clocks.map((c) => `${Math.round(rate.perSecond[c.name] ?? 0)}/s ${c.name}`).join(', ');
      for (const line of table([
        ['round trips', cell(result.roundTrips)],
        ['register reads, pipelined', cell(result.pipelinedReads)],
        [`register reads, ${BATCH} per batch`, cell(result.batchedReads)],
      ]))
        io.out(line);
    });
    return undefined;
  },
});

function toJson(result: Partial<BenchResult>) {
  const rate = (r: Rate | undefined) =>
    r === undefined
      ? null
      : {
          ops: r.ops,
          ...Object.fromEntries(
            Object.entries(r.perSecond).map(([k, v]) => [`${k}PerSecond`, Math.round(v)]),
          ),
        };
  return {
    roundTrips: rate(result.roundTrips),
    pipelinedReads: rate(result.pipelinedReads),
    batchedReads: rate(result.batchedReads),
  };
}
