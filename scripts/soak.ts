/**
 * The long fault soak: the short one of the test suite (test/fault-soak.test.ts)
 * for minutes, over several seeds. Prints one line per run and a total;
 * exits 1 when any operation hung, any byte arrived wrong or any region
 * was handed out under a running DMA, naming the seed to replay.
 *
 *   npm run soak                  about three minutes
 *   npm run soak -- 600           for ten minutes
 *   SOAK_SEED=123 npm run soak    start from another seed
 *   npm run soak -- model [s]     the model test instead (test/model/soak-model.ts)
 */

import { soakModel } from '../test/model/soak-model.ts';
import { describeReport, runSoak, type SoakReport, soakConfigs } from '../test/support/fault-soak.ts';

if (process.argv[2] === 'model') process.exit(await soakModel(Number(process.argv[3] ?? 180)));

const seconds = Number(process.argv[2] ?? 180);
const firstSeed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const operations = Number(process.env.SOAK_OPERATIONS ?? 200);

const started = Date.now();
const totals = {
  runs: 0,
  operations: 0,
  completed: 0,
  failed: 0,
  hangs: 0,
  corruptions: 0,
  violations: 0,
  bytes: 0,
};
const bad: SoakReport[] = [];
const bases = new Map<SoakReport, number>();
for (let seed = firstSeed; (Date.now() - started) / 1000 < seconds; seed += 100) {
  for (const config of soakConfigs(seed, operations)) {
    const report = await runSoak(config);
    bases.set(report, seed);
    console.log(describeReport(report));
    totals.runs++;
    totals.operations += report.operations;
    totals.completed += report.completed;
    totals.failed += Object.values(report.failures).reduce((a, b) => a + b, 0);
    totals.hangs += report.hangs;
    totals.corruptions += report.corruptions.length;
    totals.violations += report.violations.length;
    totals.bytes += report.bytesMoved;
    if (report.hangs + report.corruptions.length + report.violations.length > 0) {
      bad.push(report);
      for (const line of [...report.violations, ...report.corruptions]) console.log(`  ${line}`);
    }
    if ((Date.now() - started) / 1000 >= seconds) break;
  }
}
console.log(
  `\nsoak: ${totals.runs} runs, ${totals.operations} operations in ${Math.round((Date.now() - started) / 1000)} s: ` +
    `${totals.completed} completed, ${totals.failed} failed with a typed error (then recovered), ` +
    `${totals.hangs} hangs, ${totals.corruptions} corruptions, ${totals.violations} violations, ` +
    `${totals.bytes} bytes checked`,
);
if (bad.length > 0) {
  console.log(`replay: ${bad.map((r) => `SOAK_SEED=${bases.get(r)} npm run soak (${r.name})`).join(', ')}`);
  process.exit(1);
}
