// Mutation testing of the driver's board, API and link (`npm run mutate`):
// each mutant of those modules must make a test of vitest.mutate.config.ts
// fail. Survivors judged equivalent are listed in docs/mutation-testing.md.
//
// MUTATE=driver/link (a folder) or MUTATE=path/to/file.ts (comma-separated)
// restricts a run. Each scope keeps its own incremental file and JSON report
// (reports/mutation/<scope>.json), so the folders can be run one at a time
// and `npm run mutate:score` adds them up.
const FOLDERS = ['driver/board', 'driver/api', 'driver/link'];

const scope = process.env.MUTATE ? process.env.MUTATE.split(',') : FOLDERS;
const mutate = [
  ...scope.map((s) => (s.endsWith('.ts') ? s : `${s}/**/*.ts`)),
  '!**/*.test.ts',
  // The package's re-export lists: nothing in them can be mutated but strings.
  '!driver/*/index.ts',
];
const tag = process.env.MUTATE ? scope.join('+').replaceAll('/', '_') : 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  mutate,
  coverageAnalysis: 'perTest',
  // Two cores.
  concurrency: 2,
  // Re-runs only the mutants whose code or tests changed since the last run.
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${tag}.json`,
  // A mutant that makes a wait never end is caught by the test's own
  // deadline (vitest.mutate.config.ts: 10 s) or by this one; every test of
  // the mutation suite ends in well under a second on an unmutated driver,
  // so a few seconds of slack tell a hang from a slow machine.
  timeoutMS: 5_000,
  timeoutFactor: 2,
  // The event recorder writes each mutant's result as it is known, so a
  // long run's survivors can be read before it ends.
  reporters: ['clear-text', 'progress', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: `reports/mutation/events-${tag}` },
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
