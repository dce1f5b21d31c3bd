/**
 * The Uint8Array a caller passes is an object it controls: a `slice`
 * shadowed on it decides what bytes go out, after the length was checked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { pattern } from '../support/api-fixtures.ts';
import { openVirtualTarget, type VirtualTarget } from '../support/virtual-target.ts';

let t: VirtualTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

/** One byte as far as `length` says; 64 bytes of 0xEE when sliced. */
function lyingBytes(): Uint8Array {
  const b = new Uint8Array(1);
  Object.defineProperty(b, 'slice', { value: () => new Uint8Array(64).fill(0xee) });
  return b;
}

describe('a Uint8Array with a shadowed slice', () => {
  it('buffer.write() of 1 byte into a 16-byte buffer does not overwrite the buffer after it', async () => {
    t = await openVirtualTarget();
    const { board } = t;
    const a = board.alloc(16);
    const b = board.alloc(32);
    const before = pattern(32, 1);
    await b.write(before);
    await a.write(lyingBytes(), 15).catch(() => {});
    const after = await b.read();
    expect(Array.from(after)).toEqual(Array.from(before));
  });

  it('board.raw.writeMemory() into free memory does not overwrite an owned buffer next to it', async () => {
    t = await openVirtualTarget();
    const { board } = t;
    const a = board.alloc(16);
    const b = board.alloc(32);
    const before = pattern(32, 2);
    await b.write(before);
    a.free(); // [a] is free now: the caller's to scribble on, [b] is not
    const freeAddr = b.address - 16;
    expect(
      board.arenaRegions().find((r) => r.address <= freeAddr && freeAddr < r.address + r.length)?.state,
    ).toBe('free');
    await board.raw.writeMemory(freeAddr, lyingBytes()).catch(() => {});
    const after = await b.read();
    expect(Array.from(after)).toEqual(Array.from(before));
  });
});
