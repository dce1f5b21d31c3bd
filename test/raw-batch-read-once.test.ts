/**
 * board.raw.batch() reads each of the caller's operations once, into frozen
 * records, and decides which DMA channels to read back (to keep their
 * memory out of the allocator) and what to send from those records: an
 * `address` getter naming USART1_BRR for the first read and CCR1 afterwards
 * cannot start a DMA the ledger never hears of.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BatchOp } from '../driver/protocol/index.ts';
import { openSerialTarget, pattern, type SerialTarget } from './support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('raw.batch() reads an op whose address is a getter once', () => {
  it('a raw start through a flipping address still keeps its memory out of the allocator', async () => {
    t = await openSerialTarget();
    const { board, vb } = t;
    const ch = board.chip.dma.channels[0]!;
    const usart = board.chip.usart1;
    const free = board.arenaRegions().find((r) => r.state === 'free' && r.length >= 64)!;
    const target = free.address;
    let reads = 0;
    const ccrWrite = { op: 'write' as const, value: (1 << 7) | 1 /* MINC | EN, peripheral to memory */ } as {
      op: 'write';
      address: number;
      value: number;
    };
    Object.defineProperty(ccrWrite, 'address', {
      enumerable: true,
      get() {
        reads++;
        return reads <= 2 ? usart.brr.address : ch.ccr.address;
      },
    });
    const ops: BatchOp[] = [
      { op: 'write', address: ch.cndtr.address, value: 32 },
      { op: 'write', address: ch.cmar.address, value: target },
      { op: 'write', address: ch.cpar.address, value: usart.rdr.address },
      { op: 'write', address: ch.mux.address, value: usart.dmaRequest.rx },
      ccrWrite,
    ];
    const result = await board.raw.batch(ops).catch((e: unknown) => e);
    console.log('address reads', reads, 'result', JSON.stringify(result));
    // Read once, the op is the BRR write it first claimed to be: with USART1 enabled the strict board reports it.
    vb.chip.strict.clear();
    const bus = vb.chip.bus;
    const running = (bus.read(ch.ccr.address, 4) & 1) === 1 && (bus.read(ch.cndtr.address, 4) & 0xffff) > 0;
    const cmar = bus.read(ch.cmar.address, 4) >>> 0;
    const next = board.alloc(64);
    const handedOutUnderDma = running && cmar >= next.address && cmar < next.address + next.length;
    console.log('running', running, 'cmar', cmar.toString(16), 'next', next.address.toString(16));
    await next.write(new Uint8Array(64)).catch(() => {});
    vb.peer.inject(pattern(32, 3));
    await new Promise((r) => setTimeout(r, 300));
    const inNext = Array.from({ length: 32 }, (_, i) => bus.read(next.address + i, 1));
    const dmaWroteIntoNext = inNext.some((b) => b !== 0);
    expect({ handedOutUnderDma, dmaWroteIntoNext }).toEqual({
      handedOutUnderDma: false,
      dmaWroteIntoNext: false,
    });
  }, 10_000);
});
