import { afterEach, describe, expect, it } from 'vitest';
import { Board } from '../../driver/board/index.ts';
import { openVirtualTarget, type VirtualTarget } from '../../test/support/virtual-target.ts';
import { runSelftest } from './run-selftest.ts';

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

describe('the self-test', () => {
  it('reports each check as it ends, and a check that fails does not stop the others', async () => {
    target = await openVirtualTarget();
    const { board } = target;
    // A board whose allow-list lets RCC_CR through (as a broken firmware would). The
    // board is frozen, so the read is bent on the prototype for this test only.
    const readRegister = Board.prototype.readRegister;
    Board.prototype.readRegister = function (this: Board, address, options) {
      return address === 0x4002_1000
        ? Promise.resolve(0x0000_0500)
        : readRegister.call(this, address, options);
    };
    const seen: string[] = [];
    let results: Awaited<ReturnType<typeof runSelftest>>;
    try {
      results = await runSelftest(board, {
        loopback: false,
        virtualPeer: target.vb.peer,
        onCheck: (c) => seen.push(c.name),
      });
    } finally {
      Board.prototype.readRegister = readRegister;
    }
    expect(seen).toEqual(results.map((r) => r.name));
    const allowList = results.find((r) => r.name === 'allow-list')!;
    expect(allowList).toMatchObject({ status: 'fail' });
    expect(allowList.detail).toMatch(/RCC_CR read ALLOWED/);
    expect(results.filter((r) => r.status === 'fail')).toHaveLength(1);
    expect(results.find((r) => r.name === 'DMA read')?.status).toBe('pass');
  });

  it('skips the DMA checks, saying what to wire, when nothing is on USART1', async () => {
    target = await openVirtualTarget();
    const results = await runSelftest(target.board, { loopback: false });
    const skipped = results.filter((r) => r.status === 'skip').map((r) => r.name);
    expect(skipped).toEqual(['DMA write', 'DMA read', 'circular']);
    expect(results.find((r) => r.name === 'DMA write')?.detail).toMatch(
      /wire PC4 \(D1\) to PC5 \(D0\) and add --loopback/,
    );
    expect(results.some((r) => r.status === 'fail')).toBe(false);
  });
});
