/**
 * A Board keeps its link, handles registry, session state and chip in
 * private fields and is frozen: whoever holds it cannot swap what the
 * driver checks handles against or which chip it programs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

let t: VirtualTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

// biome-ignore lint/suspicious/noExplicitAny: reaching members TypeScript hides, as JavaScript can
type Any = any;

describe('a Board', () => {
  it('is frozen and exposes no link, request path or session state', async () => {
    t = await openVirtualTarget();
    const board = t.board as Any;
    expect(Object.isFrozen(board)).toBe(true);
    for (const name of ['link', 'send', 'runBatch', 'helloValue', 'recovering', 'claims', 'transport']) {
      expect(board[name]).toBeUndefined();
    }
    expect(() => {
      board.handles = { check() {}, generation: 0 };
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(board, 'chip', { value: {} })).toThrow(TypeError);
    // Still a working board: a buffer round-trips.
    const buf = t.board.alloc(4);
    await buf.write(new Uint8Array([1, 2, 3, 4]));
    expect(Array.from(await buf.read())).toEqual([1, 2, 3, 4]);
  });
});

describe("a Board's handle registry", () => {
  it('cannot be turned back to an older generation: a buffer from before recover() stays revoked', async () => {
    t = await openVirtualTarget();
    const { board } = t;
    const old = board.alloc(16);
    await board.recover();
    const registry = board.handles as Any;
    const generation = registry.generation;
    expect(Object.isFrozen(registry)).toBe(true);
    expect(() => {
      registry.current = 0;
    }).toThrow(TypeError);
    expect(registry.generation).toBe(generation);
    await expect(old.write(new Uint8Array(4))).rejects.toThrow();
  });
});
