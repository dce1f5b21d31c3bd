import { describe, expect, it } from 'vitest';
import { TransportClosedError } from './errors.ts';
import { FaultInjector, type FaultRates } from './fault-injector.ts';
import { createMemoryTransportPair } from './memory-pair.ts';
import type { Transport } from './transport.ts';

async function readBytes(t: Transport, n: number, timeoutMs = 500): Promise<number[]> {
  const reader = t.readable.getReader();
  const out: number[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    while (out.length < n && Date.now() < deadline) {
      const r = await Promise.race([
        reader.read(),
        new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), deadline - Date.now())),
      ]);
      if (r === 'timeout' || r.done) break;
      out.push(...r.value);
    }
  } finally {
    reader.releaseLock();
  }
  return out;
}

async function writeAll(t: Transport, chunks: Uint8Array[]): Promise<void> {
  const w = t.writable.getWriter();
  for (const c of chunks) await w.write(c);
  w.releaseLock();
}

const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

describe('memory transport pair', () => {
  it('carries bytes both ways, in order, copied', async () => {
    const { host, device } = createMemoryTransportPair();
    const chunk = Uint8Array.of(1, 2, 3);
    await writeAll(host, [chunk]);
    chunk[0] = 99; // the writer may reuse its buffer
    await writeAll(device, [Uint8Array.of(4, 5)]);
    expect(await readBytes(device, 3)).toEqual([1, 2, 3]);
    expect(await readBytes(host, 2)).toEqual([4, 5]);
  });

  it('closing one end ends both readables and fails later writes', async () => {
    const { host, device } = createMemoryTransportPair();
    const reader = device.readable.getReader();
    const writer = host.writable.getWriter();
    await host.close();
    expect((await reader.read()).done).toBe(true);
    await expect(writer.write(Uint8Array.of(1))).rejects.toBeInstanceOf(TransportClosedError);
    await host.close(); // idempotent
  });
});

async function throughInjector(rates: FaultRates, seed: number, input: Uint8Array) {
  const { host, device } = createMemoryTransportPair();
  const fi = new FaultInjector(host, { seed, toDevice: rates });
  const reading = readBytes(device, Number.POSITIVE_INFINITY, 150);
  await writeAll(fi, [input.subarray(0, 500), input.subarray(500)]);
  const out = await reading;
  await fi.close();
  return { out, counters: fi.counters.toDevice };
}

describe('fault injector', () => {
  const input = seq(2000);

  it('passes bytes untouched with no faults configured', async () => {
    const { out, counters } = await throughInjector({}, 1, input);
    expect(out).toEqual([...input]);
    expect(counters.bytes).toBe(2000);
  });

  it('flips bits at the given rate, reproducibly from the seed', async () => {
    const a = await throughInjector({ bitFlip: 0.05 }, 7, input);
    const b = await throughInjector({ bitFlip: 0.05 }, 7, input);
    expect(a.out).toEqual(b.out);
    const changed = a.out.filter((x, i) => x !== input[i]).length;
    expect(changed).toBe(a.counters.bitFlips);
    expect(changed).toBeGreaterThan(50);
    expect(changed).toBeLessThan(160);
    const c = await throughInjector({ bitFlip: 0.05 }, 8, input);
    expect(c.out).not.toEqual(a.out);
  });

  it('drops and duplicates bytes, keeping the order of the rest', async () => {
    const dropped = await throughInjector({ drop: 0.1 }, 3, input);
    expect(dropped.out.length).toBe(2000 - dropped.counters.dropped);
    expect(dropped.counters.dropped).toBeGreaterThan(100);
    // The survivors are a subsequence of the input.
    let k = 0;
    for (const b of dropped.out) {
      while (k < input.length && input[k] !== b) k++;
      expect(k).toBeLessThan(input.length);
      k++;
    }
    const dup = await throughInjector({ duplicate: 0.1 }, 3, input);
    expect(dup.out.length).toBe(2000 + dup.counters.duplicated);
    expect([...new Set(dup.out)].length).toBe(256);
  });

  it('inserts garbage bursts', async () => {
    const { out, counters } = await throughInjector({ garbage: 0.02, garbageMaxLength: 4 }, 5, input);
    expect(counters.garbageBursts).toBeGreaterThan(10);
    expect(out.length).toBe(2000 + counters.garbageBytes);
  });

  it('delays runs of bytes so that later bytes overtake them, and nothing is lost', async () => {
    const { out, counters } = await throughInjector({ delay: 0.01, delayMs: 10, delayMaxRun: 4 }, 9, input);
    expect(counters.delayedRuns).toBeGreaterThan(5);
    expect(out.length).toBe(2000);
    expect([...out].sort((a, b) => a - b)).toEqual([...input].sort((a, b) => a - b));
    expect(out).not.toEqual([...input]);
  });

  it('cuts the link after N bytes (close mode): the host sees its streams end', async () => {
    const { host, device } = createMemoryTransportPair();
    const fi = new FaultInjector(host, { seed: 1, toDevice: { cutAfterBytes: 100 } });
    const reading = readBytes(device, 1000, 100);
    const w = fi.writable.getWriter();
    await w.write(seq(60));
    await w.write(seq(60));
    expect(fi.isCut).toBe(true);
    await expect(w.write(seq(1))).rejects.toBeInstanceOf(TransportClosedError);
    expect((await reading).length).toBe(100);
    const r = fi.readable.getReader();
    expect((await r.read()).done).toBe(true);
  });

  it('cuts the link on command (silent mode): bytes vanish both ways, streams stay open', async () => {
    const { host, device } = createMemoryTransportPair();
    const fi = new FaultInjector(host, { seed: 1 });
    fi.cut('silent');
    await writeAll(fi, [seq(10)]);
    await writeAll(device, [seq(10)]);
    expect(await readBytes(device, 10, 50)).toEqual([]);
    expect(await readBytes(fi, 10, 50)).toEqual([]);
    expect(fi.counters.toDevice.swallowed).toBe(10);
    await fi.close();
  });

  it('damages the device-to-host direction independently', async () => {
    const { host, device } = createMemoryTransportPair();
    const fi = new FaultInjector(host, { seed: 2, fromDevice: { drop: 0.5 } });
    const reading = readBytes(fi, 1000, 100);
    await writeAll(device, [seq(1000)]);
    const got = await reading;
    expect(got.length).toBe(1000 - fi.counters.fromDevice.dropped);
    expect(fi.counters.toDevice.bytes).toBe(0);
    await fi.close();
  });
});
