/**
 * The Uint8Array a caller passes is an object it controls (own `slice`,
 * `subarray` or `length`): the driver copies its bytes once, from the
 * array's internal slots, and checks and sends only the copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialTarget, pattern, peerReceived } from './support/api-fixtures.ts';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

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

describe('a Uint8Array with a shadowed slice is copied, not asked', () => {
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

describe('a Uint8Array with shadowed length and subarray is copied, not asked', () => {
  it('StreamWriter.write() sends the four bytes the array holds, not what its members say', async () => {
    const st = await openSerialTarget();
    t = st;
    const b = pattern(4, 7);
    Object.defineProperty(b, 'length', { value: 64 });
    Object.defineProperty(b, 'subarray', { value: () => new Uint8Array(64).fill(0xee) });
    const writer = st.serial.streamWriter({ chunkSize: 16 });
    await writer.write(b);
    await writer.close();
    expect(peerReceived(st.vb)).toEqual(pattern(4, 7));
  });

  it('something that only looks like a Uint8Array is refused before anything is sent', async () => {
    t = await openVirtualTarget();
    const { board } = t;
    const a = board.alloc(16);
    const fake = Object.setPrototypeOf({ length: 4 }, Uint8Array.prototype) as Uint8Array;
    const sent = board.stats.framesSent;
    await expect(a.write(fake)).rejects.toThrow(/takes a Uint8Array/);
    await expect(board.raw.writeMemory(a.address + 64, fake)).rejects.toThrow(/takes a Uint8Array/);
    expect(board.stats.framesSent).toBe(sent);
  });
});
