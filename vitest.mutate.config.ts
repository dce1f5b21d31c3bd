/**
 * The tests a mutation run (`npm run mutate`, stryker.config.mjs) holds the
 * driver's board, API and link code to: the driver's own suites and the
 * in-process end-to-end suites of the safe API on the virtual board, and
 * the probes of the memory-safety findings. The long link soaks
 * (link-e2e, fault-soak, the model) and the CLI, browser and hardware
 * suites stay out: they add seconds to minutes per mutant, and the link's
 * own suites are held to kill what they would.
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
      // The probes of the memory-safety findings and the link's rate, session and fault rules.
      'test/arena-ledger.test.ts',
      'test/board-state-private.test.ts',
      'test/caller-bytes-copied-once.test.ts',
      'test/channel-engine-unreachable.test.ts',
      'test/fake-board-parity.test.ts',
      'test/link-rate.test.ts',
      'test/link-switch-guard.test.ts',
      'test/options-read-once.test.ts',
      'test/overridable-members.test.ts',
      'test/raw-batch-read-once.test.ts',
      'test/session-bound.test.ts',
      'test/stale-events.test.ts',
      'test/time-moves-forward.test.ts',
      'test/transfer-state-private.test.ts',
      'test/typed-failures.test.ts',
    ],
  },
});
