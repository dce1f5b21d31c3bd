/**
 * Options objects are read more than once: a getter on `dataSize` that says
 * 8 while the driver checks the buffer and 32 when it programs the channel
 * makes the DMA cover four times the lent memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialTarget, pattern, type SerialTarget } from '../support/api-fixtures.ts';

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

describe('options read twice', () => {
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
