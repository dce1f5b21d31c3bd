/**
 * The channel engine behind a serial port decides when a channel is
 * confirmed stopped: no serial object, half or operation exposes it (their
 * state lives in private fields and module WeakMaps), and the engine itself
 * is frozen, so shadowing its stop() is refused even from the inside.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serialSideOf } from '../driver/api/serial1.ts';
import { openSerialTarget, pattern, type SerialTarget } from './support/api-fixtures.ts';

let t: SerialTarget | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

// biome-ignore lint/suspicious/noExplicitAny: reaching members TypeScript hides, as JavaScript can
type Any = any;

const CCR1 = 0x4002_0008;
const CMAR1 = 0x4002_0014;

describe('the channel engine is out of reach', () => {
  it('a circular reception stopped through a shadowed engine.stop() does not give back memory its DMA still fills', async () => {
    t = await openSerialTarget();
    const { board, serial, vb } = t;
    const buf = board.alloc(32);
    const circ = serial.readCircular(buf) as Any;
    await circ.started;
    try {
      const engine = circ.side.engine;
      engine.stop = async () => ({ ccr: 0, cndtr: 0, completions: 0, flags: 0, starts: 0, usartIsr: 0 });
    } catch (e) {
      console.log('engine refused the shadow:', (e as Error).message);
    }
    const back = await circ.stop().catch((e: unknown) => e);
    console.log('stop outcome', back?.constructor?.name);
    if (back?.buffer) back.buffer.free();
    const next = board.alloc(32);
    const ccr = (await board.readRegister(CCR1)) >>> 0;
    const cmar = (await board.readRegister(CMAR1)) >>> 0;
    const handedOutUnderDma = (ccr & 1) === 1 && cmar >= next.address && cmar < next.address + 32;
    await next.write(pattern(32, 5)).catch(() => {});
    const before = Array.from(await next.read());
    vb.peer.inject(new Uint8Array(32).fill(0x33));
    await new Promise((r) => setTimeout(r, 300));
    const after = Array.from(await next.read());
    expect({ handedOutUnderDma, after }).toEqual({ handedOutUnderDma: false, after: before });
  }, 10_000);
});

describe('serial objects and their engines are frozen', () => {
  it('Serial1, its halves and their operations expose no engine, token or port; the engine refuses a shadowed stop()', async () => {
    t = await openSerialTarget();
    const { board, serial } = t;
    const circ = serial.readCircular(board.alloc(32));
    for (const o of [serial, circ] as Any[]) {
      expect(Object.isFrozen(o)).toBe(true);
      expect([o.side, o.engine, o.token, o.port]).toEqual([undefined, undefined, undefined, undefined]);
    }
    await circ.started;
    await circ.stop();
  });

  it('the engine (reached as the driver does) is frozen: stop() cannot be shadowed', async () => {
    t = await openSerialTarget();
    const { serial } = t;
    const { engine, token } = serialSideOf(serial);
    expect(Object.isFrozen(engine)).toBe(true);
    expect(Object.isFrozen(token)).toBe(true);
    expect(() => {
      (engine as Any).stop = async () => ({});
    }).toThrow(TypeError);
    expect(() => {
      (token as Any).movedBy = undefined;
    }).toThrow(TypeError);
    const { tx, rx } = serial.split();
    for (const half of [tx, rx] as Any[]) {
      expect(Object.isFrozen(half)).toBe(true);
      expect([half.side, half.token, half.port]).toEqual([undefined, undefined, undefined]);
    }
  });
});
