import { describe, expect, it } from 'vitest';
import {
  BOOT_RATE,
  chooseLinkRate,
  KEEP_UP_MARGIN,
  MIPS_PER_REAL_TIME_AT_2M,
  measureCoreMips,
} from './link-rate.ts';

describe("the console's virtual board link rate", () => {
  it('takes 2 Mbaud when the core has the head room for it, and slower rates as it has less', () => {
    const at2M = MIPS_PER_REAL_TIME_AT_2M * KEEP_UP_MARGIN;
    expect(chooseLinkRate(at2M).baud).toBe(2_000_000);
    expect(chooseLinkRate(at2M).headroom).toBeCloseTo(KEEP_UP_MARGIN);
    expect(chooseLinkRate(at2M * 0.99).baud).toBe(921_600);
    expect(chooseLinkRate(at2M * 0.3).baud).toBe(460_800);
    expect(chooseLinkRate(1).baud).toBe(BOOT_RATE);
  });

  it('measures the core', () => {
    expect(measureCoreMips(20)).toBeGreaterThan(0);
  });
});
