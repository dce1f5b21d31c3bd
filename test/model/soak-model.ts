/**
 * The model test for minutes (`npm run soak -- model [seconds]`): longer
 * sequences, as many runs as fit, a failure shrunk and printed with the
 * line that replays it. Exits 1 on a failure.
 *
 *   npm run soak -- model              about three minutes
 *   npm run soak -- model 600          for ten minutes
 *   MODEL_SEED=123 npm run soak -- model
 *   MODEL_SEED=123 MODEL_PATH='..' MODEL_REPLAY='..' npm run soak -- model   replays a failure
 *   MODEL_EXCLUDE=tamper,reconnect npm run soak -- model     without some command kinds
 */

import { describeModelReport, kindsFrom, runModel } from './run-model.ts';

export async function soakModel(seconds: number): Promise<number> {
  const seed = Number(process.env.MODEL_SEED ?? Date.now() % 1_000_000_000);
  const path = process.env.MODEL_PATH;
  const maxCommands = Number(process.env.MODEL_COMMANDS ?? 60);
  console.log(`model soak: seed ${seed}, up to ${maxCommands} commands a run, ${seconds} s`);
  const report = await runModel({
    seed,
    ...(path ? { path } : {}),
    ...(process.env.MODEL_REPLAY ? { replayPath: process.env.MODEL_REPLAY } : {}),
    numRuns: 1_000_000,
    maxCommands,
    size: 'large',
    wallLimitMs: 30_000,
    timeLimitMs: seconds * 1000,
    shrink: true,
    kinds: kindsFrom(process.env.MODEL_ONLY, process.env.MODEL_EXCLUDE),
    onRun: (line) => {
      if (process.env.MODEL_VERBOSE) console.log(line);
    },
  });
  console.log(describeModelReport(report));
  const notes = [...report.notes].sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (notes.length > 0) {
    console.log('typed errors operations ended with (a faulty line may fail any):');
    for (const [text, count] of notes) console.log(`  ${count} × ${text.slice(0, 160)}`);
  }
  return report.failed ? 1 : 0;
}
