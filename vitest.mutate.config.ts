/**
 * The tests a mutation run (`npm run mutate`, stryker.config.mjs) holds the
 * driver's board, API and link code to: the driver's own suites and the
 * in-process end-to-end suites of the safe API on the virtual board. The
 * long link soaks and the CLI, browser and hardware suites stay out: they
 * add minutes per mutant and cover these modules no better.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/** MUTATE_TESTS=a.test.ts,b.test.ts narrows a run to some suites (a quick run over one module). */
const only = process.env.MUTATE_TESTS?.split(',');

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // A mutant that makes a wait hang fails here rather than at the suite's
    // 30 s; the slowest test of this suite takes about a second.
    testTimeout: 10_000,
    hookTimeout: 10_000,
    include: only ?? [
      'driver/board/**/*.test.ts',
      'driver/link/**/*.test.ts',
      'driver/api/**/*.test.ts',
      'driver/primitives/**/*.test.ts',
      'test/transfer-api.test.ts',
      'test/transfer-streams.test.ts',
      'test/transfer-e2e.test.ts',
      'test/chapter.test.ts',
      'test/loss-safety.test.ts',
      'test/board-status.test.ts',
      'test/seams/*.test.ts',
    ],
  },
});
