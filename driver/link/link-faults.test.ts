import { describe, expect, it } from 'vitest';
import { FAKE } from '../test-support/fake-board.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import type { FaultRates } from '../transport/fault-injector.ts';
import { LinkClosedError, LinkTimeoutError } from './errors.ts';

/**
 * Each request writes one byte to USART1_TDR; the fake records the bytes.
 * Exactly-once in order means the recorded bytes are exactly the sequence
 * written, however the line damaged the frames both ways.
 */
async function writeSequence(rates: FaultRates, seed: number, count: number) {
  const { link, board, injector } = await openOnFake({
    faults: { seed, toDevice: rates, fromDevice: rates },
    link: { retransmitTimeoutMs: 15, maxRetries: 30 },
  });
  const sent: number[] = [];
  const inFlight: Promise<unknown>[] = [];
  const failures: unknown[] = [];
  for (let i = 0; i < count && failures.length === 0; i++) {
    const value = (i * 7) & 0xff;
    sent.push(value);
    inFlight.push(
      link.request({ command: 'reg-write', address: FAKE.USART_TDR, value }).catch((e) => failures.push(e)),
    );
    // Keep a few more than the window queued, as an application would.
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  expect(failures).toEqual([]);
  expect(board.usartTx).toEqual(sent);
  expect(board.executed).toBe(count);
  const stats = { ...link.stats };
  await link.close();
  return { stats, counters: injector!.counters };
}

describe('Link under faults: every request executed exactly once, in order', () => {
  const count = 1500;
  const cases: [string, FaultRates, (c: ReturnType<typeof Object>) => void][] = [
    ['bit flips', { bitFlip: 0.003 }, () => {}],
    ['dropped bytes', { drop: 0.003 }, () => {}],
    ['duplicated bytes', { duplicate: 0.004 }, () => {}],
    ['garbage', { garbage: 0.004, garbageMaxLength: 6 }, () => {}],
    ['delayed bytes', { delay: 0.004, delayMs: 8, delayMaxRun: 8 }, () => {}],
    [
      'a mix of everything',
      { bitFlip: 0.001, drop: 0.001, duplicate: 0.001, garbage: 0.001, delay: 0.001, delayMs: 5 },
      () => {},
    ],
  ];
  for (const [name, rates] of cases) {
    it(`survives ${name}`, async () => {
      const { stats, counters } = await writeSequence(rates, name.length * 7919, count);
      const injected = Object.values(counters.toDevice).reduce((a, b) => a + b, 0) - counters.toDevice.bytes;
      expect(injected).toBeGreaterThan(0);
      expect(stats.retransmissions).toBeGreaterThan(0);
    });
  }

  it('fails everything pending with LinkClosedError when the link is cut after N bytes', async () => {
    const { link, injector } = await openOnFake({ faults: { seed: 1, toDevice: { cutAfterBytes: 400 } } });
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: i }),
      ),
    );
    expect(injector!.isCut).toBe(true);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.length).toBeGreaterThan(50);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LinkClosedError);
    expect(link.state).toBe('closed');
  });

  it('fails everything pending with LinkTimeoutError when the line goes silent', async () => {
    const { link, injector } = await openOnFake({
      faults: { seed: 1 },
      link: { maxRetries: 3, retransmitTimeoutMs: 10 },
    });
    const pending = Array.from({ length: 10 }, (_, i) =>
      link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: i }),
    );
    injector!.cut('silent');
    const results = await Promise.allSettled(pending);
    const reasons = results.map((r) => (r.status === 'rejected' ? r.reason : undefined));
    // Requests answered before the cut succeed; everything after times out, none hangs.
    expect(reasons.filter((r) => r !== undefined).every((r) => r instanceof LinkTimeoutError)).toBe(true);
    expect(reasons.some((r) => r instanceof LinkTimeoutError)).toBe(true);
    await link.close();
  });
});
