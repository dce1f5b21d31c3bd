// Mutation testing of the driver's board, API and link (`npm run mutate`):
// each mutant of those modules must make a test of vitest.mutate.config.ts
// fail. Survivors judged equivalent are listed in docs/mutation-testing.md.
// MUTATE=path/to/file.ts (comma-separated) restricts a run to some files.
const mutate = process.env.MUTATE
  ? process.env.MUTATE.split(',')
  : ['driver/board/**/*.ts', 'driver/api/**/*.ts', 'driver/link/**/*.ts', '!**/*.test.ts'];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  mutate,
  coverageAnalysis: 'perTest',
  // Two cores on a shared machine.
  concurrency: 2,
  // Re-runs only the mutants whose code or tests changed since the last run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // The virtual board runs real firmware: a mutant that makes a wait end
  // only at a safety net needs room before it counts as a timeout.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
