/**
 * `dma-bridge selftest`: the bring-up check of a board (or the virtual one),
 * as a report to read or to paste into an issue (text, or --json).
 */
import { z } from 'zod';
import { packageVersion } from '../../package/package-root.ts';
import { type CheckResult, runSelftest } from '../../selftest/run-selftest.ts';
import { defineCommand } from '../command.ts';
import { withBoard } from '../connect.ts';
import { boardOptionSpecs, boardOptionsSchema } from '../options.ts';

const schema = boardOptionsSchema.extend({ loopback: z.boolean().default(false) });

const MARK: Record<CheckResult['status'], string> = {
  pass: 'pass',
  fail: 'FAIL',
  warn: 'warn',
  skip: 'skip',
};

export const selftestCommand = defineCommand({
  name: 'selftest',
  summary: 'check a board end to end: HELLO, refusals, DMA both ways, circular reception, counters',
  synopsis: '[--loopback] [--port PATH|tcp://host:port] [--json]',
  details: [
    '--loopback        USART1 TX is wired to RX (a jumper from PC4/D1 to PC5/D0): the DMA checks send',
    '                  through it. Without --port the virtual board is wired so; without either, on a',
    '                  real board, the DMA checks are skipped',
    'Exit status 1 when a check fails; warnings (a fault since power-up, lost bytes) do not fail.',
  ],
  options: { ...boardOptionSpecs, loopback: { type: 'boolean' } },
  allowPositionals: false,
  schema,
  async run(args, io) {
    const results = await withBoard(args, io, async (board, connection) => {
      if (!args.json) io.out(`dma-bridge ${packageVersion()} selftest: ${connection.description}`);
      const checks = await runSelftest(board, {
        loopback: args.loopback,
        virtualPeer: connection.virtualBoard && !args.loopback ? connection.virtualBoard.peer : undefined,
        onCheck: (c) => {
          if (!args.json) io.out(`  ${MARK[c.status]}  ${c.name}: ${c.detail}`);
        },
      });
      const count = (s: CheckResult['status']) => checks.filter((c) => c.status === s).length;
      const summary = {
        passed: count('pass'),
        failed: count('fail'),
        warnings: count('warn'),
        skipped: count('skip'),
      };
      if (args.json) {
        io.out(
          JSON.stringify({
            board: connection.description,
            virtual: connection.virtual,
            package: packageVersion(),
            firmware: board.hello.firmwareVersion,
            linkBaud: board.linkRate.baud,
            checks,
            ...summary,
          }),
        );
      } else {
        io.out(
          `result: ${summary.passed} passed, ${summary.failed} failed, ${summary.warnings} warnings, ${summary.skipped} skipped`,
        );
      }
      return summary;
    });
    return results.failed > 0 ? 1 : undefined;
  },
});
