/**
 * A DmaBuffer's properties and methods are not what a DMA is aimed by: a
 * caller who redefines them on an instance, on the prototype, or swaps the
 * prototype, changes nothing the board does. Each test tampers the way an
 * attack on an earlier release did, then looks at the bytes the DMA moved on
 * the virtual board.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { DmaBuffer } from '../driver/board/index.ts';
import { boardInternals } from '../driver/board/internals.ts';
import {
  openSerialTarget,
  pattern,
  peerReceived,
  type SerialTarget,
  sleepVirtual,
} from './support/api-fixtures.ts';

const targets: SerialTarget[] = [];
afterEach(async () => {
  for (const t of targets.splice(0)) await t.dispose();
});

async function open(): Promise<SerialTarget> {
  const t = await openSerialTarget();
  targets.push(t);
  return t;
}

/** Runs a tampering step; a frozen buffer refuses it (TypeError), which is one of the defences. */
function tamper(step: () => void): void {
  try {
    step();
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
  }
}

/** Starts an operation that the driver may refuse (any error): the test judges by the board's bytes. */
function attempt<T>(start: () => T): T | undefined {
  try {
    return start();
  } catch {
    return undefined;
  }
}

/** Settles a transfer's wait() either way (the test judges by the board's bytes). */
async function settle(t: { wait(): Promise<unknown> } | undefined): Promise<void> {
  await t?.wait().catch(() => {});
}

describe('a redefined length never widens a DMA', () => {
  it('on the instance: the never-moved neighbour keeps its bytes', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(16);
    const neighbour = board.alloc(16);
    expect(neighbour.address).toBe(buf.address + 16);
    await neighbour.write(pattern(16, 1));
    tamper(() => Object.defineProperty(buf, 'length', { value: 64 }));
    const t = attempt(() => serial.readExact(buf));
    await t?.started.catch(() => {});
    vb.peer.inject(pattern(64, 2));
    await sleepVirtual(vb, 2);
    await settle(t);
    expect(await neighbour.read()).toEqual(pattern(16, 1));
  });

  it('on the prototype (which stays open): the DMA still covers the buffer and nothing more', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(16);
    const neighbour = board.alloc(16);
    await neighbour.write(pattern(16, 3));
    const original = Object.getOwnPropertyDescriptor(DmaBuffer.prototype, 'length')!;
    Object.defineProperty(DmaBuffer.prototype, 'length', { get: () => 64, configurable: true });
    let t: ReturnType<typeof serial.readExact> | undefined;
    try {
      t = serial.readExact(buf);
    } finally {
      Object.defineProperty(DmaBuffer.prototype, 'length', original);
    }
    await t.started;
    vb.peer.inject(pattern(64, 4));
    await sleepVirtual(vb, 2);
    const { buffer, transferred } = await t.wait();
    expect(transferred).toBe(16);
    expect(await buffer.read()).toEqual(pattern(64, 4).subarray(0, 16));
    expect(await neighbour.read()).toEqual(pattern(16, 3));
  });
});

describe('shadowed checks never let a freed buffer reach the DMA', () => {
  it('assertOwned and moveInto shadowed on a freed buffer: the memory reallocated since keeps its bytes', async () => {
    const { board, vb, serial } = await open();
    const freed = board.alloc(16);
    freed.free();
    const reallocated = board.alloc(16);
    expect(reallocated.address).toBe(freed.address);
    await reallocated.write(pattern(16, 5));
    const shadow = freed as unknown as Record<string, unknown>;
    tamper(() => {
      shadow.assertOwned = () => {};
    });
    tamper(() => {
      shadow.moveInto = () => {};
    });
    const t = attempt(() => serial.readExact(freed));
    await t?.started.catch(() => {});
    vb.peer.inject(pattern(16, 6));
    await sleepVirtual(vb, 2);
    await settle(t);
    expect(await reallocated.read()).toEqual(pattern(16, 5));
  });
});

describe('a swapped prototype never aims a DMA elsewhere', () => {
  it('a subclass with an address getter: writeAll() sends the buffer it was given, not another live one', async () => {
    const { board, vb, serial } = await open();
    const secret = board.alloc(16);
    await secret.write(pattern(16, 7));
    const buf = board.alloc(16);
    await buf.write(pattern(16, 8));
    class Aimed extends DmaBuffer {
      override get address(): number {
        return secret.address;
      }
    }
    tamper(() => {
      Object.setPrototypeOf(buf, Aimed.prototype);
    });
    const t = serial.writeAll(buf);
    await t.wait();
    expect(peerReceived(vb)).toEqual(pattern(16, 8));
  });
});

describe("a shadowed board check never lets another board's buffer in", () => {
  it('assertBelongsTo shadowed on a foreign buffer: nothing of this board is sent', async () => {
    const a = await open();
    const b = await open();
    const own = a.board.alloc(16);
    await own.write(pattern(16, 9));
    const foreign = b.board.alloc(16);
    expect(foreign.address).toBe(own.address); // same layout: it would alias `own` on board a
    tamper(() => {
      (foreign as unknown as Record<string, unknown>).assertBelongsTo = () => {};
    });
    const t = attempt(() => a.serial.writeAll(foreign));
    await settle(t);
    await sleepVirtual(a.vb, 1);
    expect(peerReceived(a.vb)).toEqual(new Uint8Array(0));
  });
});

describe("a replaced lend target never aims a board's DMA at another board's buffer", () => {
  it("the serial's channel told it lends from board b: board a's DMA sends nothing of its own memory", async () => {
    const a = await open();
    const b = await open();
    const own = a.board.alloc(16);
    await own.write(pattern(16, 10));
    const foreign = b.board.alloc(16);
    expect(foreign.address).toBe(own.address);
    const engine = (a.serial as unknown as { side: { engine: object } }).side.engine;
    tamper(() => Object.defineProperty(engine, 'lendTarget', { get: () => boardInternals(b.board) }));
    const t = attempt(() => a.serial.writeAll(foreign));
    await settle(t);
    await sleepVirtual(a.vb, 1);
    expect(peerReceived(a.vb)).toEqual(new Uint8Array(0));
  });
});
