/**
 * Options objects belong to the caller, who may answer through getters or
 * change them at any time: every operation reads each option exactly once,
 * at the call, into a frozen private copy, and decides by the copy only. A
 * `dataSize` that says 8 to the checks and 32 afterwards must not make the
 * DMA cover four times the lent memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  openSerialTarget,
  pattern,
  peerReceived,
  type SerialTarget,
  sleepVirtual,
} from './support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** An options object whose dataSize is 8 for the first `honest` reads, then 32. */
function flippingOptions(honest: number): { readonly dataSize: 8 | 32; reads: number } {
  const o = { reads: 0 } as { readonly dataSize: 8 | 32; reads: number };
  Object.defineProperty(o, 'dataSize', {
    enumerable: true,
    get() {
      o.reads++;
      return o.reads <= honest ? 8 : 32;
    },
  });
  return o;
}

describe('options are read once, at the call', () => {
  it('a dataSize getter flipping 8 -> 32 after the checks does not let readExact write past its buffer', async () => {
    t = await openSerialTarget();
    const { board, serial, vb } = t;
    const victim = board.alloc(16, { align: 4 });
    const buf = board.alloc(16, { align: 4 });
    const neighbour = board.alloc(64, { align: 4 });
    const before = pattern(64, 3);
    await neighbour.write(before);
    // Each candidate read count: the flip lands on the read that programs MSIZE.
    const opts = flippingOptions(3);
    const tr = serial.readExact(buf, opts);
    await tr.started.catch(() => {});
    vb.peer.inject(new Uint8Array(64).fill(0xa5));
    const out = await tr.wait({ timeoutMs: 2000 }).catch((e) => e);
    console.log(
      'reads of dataSize',
      opts.reads,
      'outcome',
      out?.constructor?.name,
      String(out?.message ?? ''),
    );
    const ccr = (await board.readRegister(0x40020008)) >>> 0;
    console.log('ch1 CCR', ccr.toString(16), 'buf', buf.address?.toString(16));
    const after = await neighbour.read();
    expect(Array.from(after)).toEqual(Array.from(before));
    victim.free();
  }, 10_000);
});

/** `options` behind a Proxy that counts the reads of each key. */
function counted<T extends object>(options: T): { proxy: T; reads: Map<PropertyKey, number> } {
  const reads = new Map<PropertyKey, number>();
  const proxy = new Proxy(options, {
    get(target, key, receiver) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(target, key, receiver);
    },
  });
  return { proxy, reads };
}

describe('each option is read at most once', () => {
  it('by writeAll(), and the peer receives exactly the buffer', async () => {
    t = await openSerialTarget();
    const { board, serial, vb } = t;
    const buf = board.alloc(8, { align: 4 });
    await buf.write(pattern(8, 4));
    const { proxy, reads } = counted({ dataSize: 8 as const, priority: 'high' as const });
    await serial.writeAll(buf, proxy).wait({ timeoutMs: 2000 });
    expect([...reads.values()].every((n) => n === 1)).toBe(true);
    expect(peerReceived(vb)).toEqual(pattern(8, 4));
  });

  it('by readCircular(): a dataSize flipping to 32 after one read does not widen the circular DMA', async () => {
    t = await openSerialTarget();
    const { board, serial, vb } = t;
    const buf = board.alloc(16, { align: 4 });
    const neighbour = board.alloc(64, { align: 4 });
    await neighbour.write(pattern(64, 5));
    const opts = flippingOptions(1);
    const rec = serial.readCircular(buf, opts);
    await rec.started;
    vb.peer.inject(new Uint8Array(64).fill(0x77));
    await sleepVirtual(vb, 2);
    await rec.stop().catch(() => {});
    expect(opts.reads).toBe(1);
    expect(Array.from(await neighbour.read())).toEqual(Array.from(pattern(64, 5)));
  });

  it('by streamWriter(): chunkSize, dataSize, priority and onProgress once each; all bytes reach the peer', async () => {
    t = await openSerialTarget();
    const { serial, vb } = t;
    const progress: number[] = [];
    const { proxy, reads } = counted({
      chunkSize: 16,
      dataSize: 8 as const,
      priority: 'low' as const,
      onProgress: (n: number) => progress.push(n),
    });
    const writer = serial.streamWriter(proxy);
    await writer.write(pattern(40, 6));
    await writer.close();
    expect(Object.fromEntries(reads)).toEqual({ chunkSize: 1, dataSize: 1, priority: 1, onProgress: 1 });
    expect(peerReceived(vb)).toEqual(pattern(40, 6));
    expect(progress).toEqual([16, 32, 40]);
  });

  it('by Serial1.take(): baudRate, errorEvents and onWarning once each', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const { Serial1 } = await import('../driver/api/index.ts');
    const { proxy, reads } = counted({ baudRate: 115_200, errorEvents: true, onWarning: () => {} });
    // USART1 is taken: after board.recover() it may be taken again.
    void serial;
    await board.recover();
    await Serial1.take(board, proxy);
    expect(Object.fromEntries(reads)).toEqual({ baudRate: 1, errorEvents: 1, onWarning: 1 });
  });
});
