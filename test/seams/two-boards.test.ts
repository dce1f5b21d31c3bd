/**
 * Two boards in one process: handles of one never reach the other's DMA.
 * The arenas of two virtual boards sit at the same addresses, so a buffer
 * of board A aimed by board B would be B's memory at the same address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialTarget, type SerialTarget } from '../support/api-fixtures.ts';

const targets: SerialTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.dispose();
});

describe('two boards', () => {
  it("board B's serial refuses board A's buffers in every operation, and B's channels stay off", async () => {
    const a = await openSerialTarget();
    targets.push(a);
    const b = await openSerialTarget();
    targets.push(b);
    const bufA = a.board.alloc(16);
    const refusals: string[] = [];
    const ops: [string, () => unknown][] = [
      ['writeAll', () => b.serial.writeAll(bufA)],
      ['readExact', () => b.serial.readExact(bufA)],
      ['readUntilIdle', () => b.serial.readUntilIdle(bufA)],
      ['readCircular', () => b.serial.readCircular(bufA)],
      ['readExact(view)', () => b.serial.readExact(bufA.subarray(0, 8))],
    ];
    for (const [name, op] of ops) {
      try {
        const r = op() as { started?: Promise<void> };
        await r.started;
        refusals.push(`${name}: accepted`);
      } catch (e) {
        refusals.push(`${name}: ${(e as Error).name}`);
      }
    }
    const { tx, rx } = b.serial.split();
    for (const [name, op] of [
      ['tx.writeAll', () => tx.writeAll(bufA)],
      ['rx.readExact', () => rx.readExact(bufA)],
    ] as [string, () => { started: Promise<void> }][]) {
      try {
        await op().started;
        refusals.push(`${name}: accepted`);
      } catch (e) {
        refusals.push(`${name}: ${(e as Error).name}`);
      }
    }
    const bus = b.vb.chip.bus;
    const enabled = [0x4002_0008, 0x4002_001c].map((ccr) => bus.read(ccr, 4) & 1);
    console.log(refusals.join('\n'));
    expect(refusals.filter((r) => r.endsWith('accepted'))).toEqual([]);
    expect(enabled).toEqual([0, 0]);
    expect(bufA.usable).toBe(true);
  }, 15_000);
});
