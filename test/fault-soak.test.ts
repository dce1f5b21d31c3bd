/**
 * The fault soak, short: each fault type and a mix, a few dozen operations
 * each (`npm run soak` runs it for minutes). Seeds come from SOAK_SEED when
 * set, so a failure replays; every failure message names its seed. (The
 * default seed's bit-flip run caught a stream buffer freed under its chunk
 * by a late "done" meant for the chunk before; the replayed seed below, a
 * stale channel read doing the same.)
 */

import { describe, expect, it } from 'vitest';
import { describeReport, runSoak, soakConfigs } from './support/fault-soak.ts';

const seed = Number(process.env.SOAK_SEED ?? 20261205);
const operations = Number(process.env.SOAK_OPERATIONS ?? 24);

describe('fault soak: every operation completes or fails typed, nothing lost, no region handed out under a DMA', () => {
  for (const config of soakConfigs(seed, operations)) {
    it(config.name, async () => {
      const report = await runSoak(config);
      const where = `${describeReport(report)}; replay with SOAK_SEED=${seed}`;
      expect(report.violations, where).toEqual([]);
      expect(report.corruptions, where).toEqual([]);
      expect(report.hangs, where).toBe(0);
      expect(report.operations, where).toBe(operations);
      // The line was really damaged, and most operations still went through.
      expect(report.faultsInjected, where).toBeGreaterThan(0);
      expect(report.completed, where).toBeGreaterThan(operations / 2);
    }, 60_000);
  }

  it('replays the seed that caught a stale channel read freeing a stream buffer early (a mix, 200 operations)', async () => {
    const config = soakConfigs(870557, 200).find((c) => c.name === 'a mix')!;
    const report = await runSoak(config);
    expect(report.corruptions, describeReport(report)).toEqual([]);
    expect(report.violations, describeReport(report)).toEqual([]);
  }, 60_000);
});
