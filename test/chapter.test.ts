/**
 * The DMA chapter (shared/reference/dma-chapter.md), section by section,
 * against the real bridge firmware on the virtual board: for each of the
 * chapter's unsound programs, the TypeScript counterpart either throws the
 * typed error or behaves safely.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { Serial1, type Transfer } from '../driver/api/index.ts';
import { createDmaBuffer } from '../driver/board/dma-buffer.ts';
import {
  BufferBusyError,
  BufferFreedError,
  type DmaBuffer,
  DmaStartRefusedError,
  MovedError,
} from '../driver/board/index.ts';
import { boardInternals } from '../driver/board/internals.ts';
import type { Region } from '../driver/board/ledger.ts';
import { Dma1Channel1 } from '../driver/primitives/index.ts';
import {
  FAST_BAUD,
  openSerialTarget,
  overlaps,
  pattern,
  peerReceived,
  type SerialTarget,
  sleepVirtual,
  str,
  text,
} from './support/api-fixtures.ts';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

let target: SerialTarget | VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

async function open(options: Parameters<typeof openSerialTarget>[0] = {}): Promise<SerialTarget> {
  const t = await openSerialTarget(options);
  target = t;
  return t;
}

/** CCR1 as the board reads it now. */
async function ccr1(t: VirtualTarget): Promise<number> {
  return t.board.readRegister(t.board.chip.dma.channels[0]!.ccr.address);
}

describe('A first stab: writeAll and readExact', () => {
  it('writeAll sends the buffer and wait() hands back the buffer and the serial', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(13);
    await buf.write(text('Hello, world!'));
    const { buffer, serial: serial2 } = await serial.writeAll(buf).wait();
    expect(str(peerReceived(vb))).toBe('Hello, world!');
    expect(serial2).toBeInstanceOf(Serial1);
    expect(str(await buffer.read())).toBe('Hello, world!');
  });

  it('readExact fills the whole buffer from the peer', async () => {
    const { board, vb, serial } = await open();
    const t = serial.readExact(board.alloc(16));
    await t.started;
    vb.peer.inject(text('0123456789abcdef'));
    const { buffer } = await t.wait();
    expect(str(await buffer.read())).toBe('0123456789abcdef');
  });
});

describe('mem::forget', () => {
  it('a Transfer dropped without wait() keeps its region; the DMA writes only there', async () => {
    const { board, vb, serial } = await open();
    const before = board.alloc(256);
    const leaked = board.alloc(64);
    // The chapter's `start`: begin a read into the buffer and forget the Transfer.
    const start = (): void => {
      serial.readExact(leaked);
    };
    start();
    // Requests run in order: once this ping is answered the DMA is running.
    await board.ping();
    expect(() => leaked.free()).toThrow(MovedError);
    expect(() => leaked.free()).toThrow(/moved by readExact\(\)/);

    // The chapter's `bar`: allocate everything that is left. None of it may
    // overlap the region the forgotten transfer still writes into.
    const rest = board.alloc(board.arenaUsage().largestFree);
    expect(overlaps(rest.address, rest.length, leaked.address, leaked.length)).toBe(false);
    expect(overlaps(before.address, before.length, leaked.address, leaked.length)).toBe(false);
    expect(() => board.alloc(4)).toThrow(/no free block/);

    // Neighbours on both sides hold a pattern while the peer sends more than the region holds.
    const below = pattern(256, 1);
    const above = pattern(256, 2);
    await before.write(below);
    await rest.write(above.subarray(0, 256));
    const sent = pattern(100, 3);
    vb.peer.inject(sent);
    await sleepVirtual(vb, 2); // 100 characters at 2 Mbaud take 0.5 ms
    expect(await before.read()).toEqual(below);
    expect(await rest.read(0, 256)).toEqual(above);
    // The leaked region got the first 64 bytes: the DMA ran into it and nowhere else.
    expect(await board.readMemory(leaked.address, 64)).toEqual(sent.subarray(0, 64));
  });

  it('the leaked region comes back only through board.recover()', async () => {
    const { board, serial } = await open();
    const leaked = board.alloc(1024);
    serial.readExact(leaked);
    await board.ping();
    const whole = board.arena.size;
    expect(() => board.alloc(whole)).toThrow(/no free block/);
    await board.recover();
    expect(board.alloc(whole).length).toBe(whole);
  });
});

describe('Overlapping use', () => {
  it('the serial and the buffer are moved into writeAll(): any use throws MovedError naming it', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(8);
    await buf.write(text('abcdefgh'));
    const t = serial.writeAll(buf);

    const moved = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const e = moved(() => serial.write(0x41));
    expect(e).toBeInstanceOf(MovedError);
    expect((e as MovedError).movedBy).toBe('writeAll()');
    expect(() => serial.read()).toThrow(MovedError);
    expect(() => serial.writeAll(board.alloc(4))).toThrow(/this Serial1 was moved by writeAll\(\)/);
    expect(() => serial.readExact(board.alloc(4))).toThrow(MovedError);
    expect(() => serial.split()).toThrow(MovedError);
    await expect(buf.read()).rejects.toThrow(MovedError);
    await expect(buf.write(text('x'))).rejects.toThrow(/this DmaBuffer was moved by writeAll\(\)/);
    expect(() => buf.subarray(0, 2)).toThrow(MovedError);
    expect(() => buf.free()).toThrow(MovedError);

    const { serial: s2, buffer: b2 } = await t.wait();
    expect(str(peerReceived(vb))).toBe('abcdefgh');
    // The old objects stay moved; the fresh owners work.
    expect(() => serial.write(0x41)).toThrow(MovedError);
    await expect(buf.read()).rejects.toThrow(MovedError);
    await expect(t.wait()).rejects.toThrow(/this Transfer was moved by wait\(\)/);
    await b2.write(text('ABCDEFGH'));
    await s2.writeAll(b2).wait();
    expect(str(peerReceived(vb))).toBe('abcdefghABCDEFGH');
  });
});

describe('Compiler (mis)optimizations', () => {
  it('a write to the buffer issued before writeAll lands first, even when not awaited (§7: in-order execution)', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(16);
    await buf.write(text('old old old old '));
    // Not awaited: the MEM_WRITE is sequenced before the start, so the DMA sees it.
    const written = buf.write(text('new contents!!!!'));
    const t = serial.writeAll(buf);
    await t.wait();
    await written;
    expect(str(peerReceived(vb))).toBe('new contents!!!!');
  });

  it('a buffer read after wait() shows everything the DMA wrote; before it, the buffer cannot be read', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(64);
    await buf.write(new Uint8Array(64)); // the chapter's zeroing, before the start
    const t = serial.readExact(buf);
    await t.started;
    const data = pattern(64, 5);
    vb.peer.inject(data.subarray(0, 40));
    await sleepVirtual(vb, 1);
    await expect(buf.read()).rejects.toThrow(MovedError); // no read racing the DMA
    vb.peer.inject(data.subarray(40));
    const { buffer } = await t.wait();
    expect(await buffer.read()).toEqual(data);
  });
});

describe('Generic buffer', () => {
  it('a view (subarray) is accepted; other views of the locked allocation throw BufferBusyError', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(32);
    await buf.write(text('0123456789abcdefghijklmnopqrstuv'));
    const view = buf.subarray(4, 12);
    const t = serial.writeAll(view);
    await expect(buf.read()).rejects.toThrow(BufferBusyError);
    await expect(buf.write(text('z'), 20)).rejects.toThrow(/owned by the Transfer that writeAll\(\) started/);
    expect(() => buf.subarray(20, 24)).toThrow(BufferBusyError);
    expect(() => buf.free()).toThrow(BufferBusyError);
    const { buffer } = await t.wait();
    expect(str(peerReceived(vb))).toBe('456789ab');
    expect(buffer.isAllocation).toBe(false);
    expect(buffer.address).toBe(buf.address + 4);
    // Unlocked again: the original allocation is usable and can be freed.
    expect(str(await buf.read())).toBe('0123456789abcdefghijklmnopqrstuv');
    buf.free();
    await expect(buffer.read()).rejects.toThrow(BufferFreedError);
  });

  it('readExact into a view writes only that range; the handed-back buffer is reused for the next transfer', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(24);
    await buf.write(text('........................'));
    const t = serial.readExact(buf.subarray(8, 16));
    await t.started;
    vb.peer.inject(text('ABCDEFGH'));
    const { buffer, serial: s2 } = await t.wait();
    expect(str(await buf.read())).toBe('........ABCDEFGH........');
    // The chapter's `reuse`: the same memory goes straight into another transfer.
    await s2.writeAll(buffer).wait();
    expect(str(peerReceived(vb))).toBe('ABCDEFGH');
  });
});

describe('Immovable buffers', () => {
  it('a buffer keeps its address across transfers and hand-backs', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(8);
    const address = buf.address;
    const t = serial.readExact(buf);
    await t.started;
    expect(await board.readRegister(board.chip.dma.channels[0]!.cmar.address)).toBe(address);
    vb.peer.inject(text('12345678'));
    const { buffer, serial: s2 } = await t.wait();
    expect(buffer.address).toBe(address);
    const { buffer: b3 } = await s2.writeAll(buffer).wait();
    expect(b3.address).toBe(address);
  });

  it('host bytes are copied, never pointed at: changing the source after write() changes nothing sent', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(8);
    const source = text('original');
    const written = buf.write(source);
    source.fill(0x21); // before the write was even acknowledged
    await written;
    const t = serial.writeAll(buf);
    source.set(text('mutated!'));
    await t.wait();
    expect(str(peerReceived(vb))).toBe('original');
  });

  it('a host Uint8Array cannot stand in for a DmaBuffer', async () => {
    const { board, serial } = await open();
    const sentBefore = board.stats.framesSent;
    const host = new Uint8Array(8);
    expect(() => serial.writeAll(host as unknown as DmaBuffer)).toThrow(TypeError);
    expect(() => serial.readExact(host as unknown as DmaBuffer)).toThrow(
      /readExact\(\) takes a DmaBuffer, not a host Uint8Array: allocate one with board\.alloc/,
    );
    expect(board.stats.framesSent).toBe(sentBefore);
    // Nothing was moved by the refused calls.
    await serial.writeAll(board.alloc(1)).wait();
  });
});

describe("'static bound", () => {
  it('the safe API takes no raw address: a forged { address, length } is refused before anything is sent', async () => {
    const { board, serial } = await open();
    const sentBefore = board.stats.framesSent;
    const forged = { address: 0x2000_0000, length: 16 } as unknown as DmaBuffer;
    expect(() => serial.writeAll(forged)).toThrow(/writeAll\(\) takes a DmaBuffer/);
    expect(() => serial.readCircular(forged)).toThrow(TypeError);
    expect(board.stats.framesSent).toBe(sentBefore);
  });

  it('a DmaBuffer forged over firmware RAM is refused by the ledger before anything is sent; owners stay usable', async () => {
    const { board, vb, serial } = await open();
    const real = board.alloc(16);
    // Reach under the API: a DmaBuffer over the firmware's own RAM (its stack lives below the arena),
    // made with the board's internals but a region the ledger never handed out.
    const internals = boardInternals(board);
    const region: Region = {
      address: board.arena.base - 0x100,
      length: 16,
      ledger: internals.ledger,
      generation: board.handles.generation,
      state: 'owned',
      holder: undefined,
      loan: undefined,
      raw: false,
    };
    const host = {
      name: internals.name,
      ledger: internals.ledger,
      readMemory: () => Promise.reject(new Error('not used')),
      writeMemory: () => Promise.reject(new Error('not used')),
      checkHandle: () => {},
    };
    const forged = createDmaBuffer(host, region, board.handles.issue('forged'));
    const sentBefore = board.stats.framesSent;
    expect(() => serial.readExact(forged)).toThrow(BufferFreedError);
    expect(board.stats.framesSent).toBe(sentBefore);
    expect((await ccr1(target as VirtualTarget)) & 1).toBe(0);
    // The refusal moved nothing: the serial works on.
    await real.write(text('still fine here!'));
    await serial.writeAll(real).wait();
    expect(str(peerReceived(vb))).toBe('still fine here!');
  });

  it('raw registers: a DMA start outside the arena is refused by the firmware (board.batch)', async () => {
    const t = await openVirtualTarget();
    target = t;
    const { board, vb } = t;
    const ch = board.chip.dma.channels[0]!;
    const u = board.chip.usart1;
    const attempt = async (cmar: number, cndtr: number) =>
      board.raw.batch((b) =>
        b
          .write(ch.ccr.address, 0)
          .write(ch.mux.address, u.dmaRequest.tx)
          .write(ch.cndtr.address, cndtr)
          .write(ch.cpar.address, u.tdr.address)
          .write(ch.cmar.address, cmar)
          // EN | DIR (memory to peripheral) | MINC
          .write(ch.ccr.address, 1 | (1 << 4) | (1 << 7)),
      );
    for (const [cmar, cndtr] of [
      [board.arena.base - 0x200, 16], // the firmware's RAM
      [board.arena.base + board.arena.size - 8, 16], // runs off the arena's end
      [0x0800_0000, 16], // flash
    ] as const) {
      const r = await attempt(cmar, cndtr);
      expect(r.failure?.index).toBe(5);
      const error = r.failure?.error;
      expect(error).toBeInstanceOf(DmaStartRefusedError);
      expect(error instanceof DmaStartRefusedError && error.reason).toBe(1);
      expect((await ccr1(t)) & 1).toBe(0);
    }
    await sleepVirtual(vb, 1);
    expect(vb.peer.received()).toHaveLength(0);
  });

  it('raw registers: the chapter-style Dma1Channel1 primitive gets the same refusal', async () => {
    const t = await openVirtualTarget();
    target = t;
    const { board } = t;
    const dma = Dma1Channel1.take(board);
    await dma.setSourceAddress(board.arena.base - 0x100, true);
    await dma.setDestinationAddress(board.chip.usart1.tdr.address, false);
    await dma.setTransferLength(16);
    await expect(dma.start()).rejects.toBeInstanceOf(DmaStartRefusedError);
    expect(await dma.inProgress()).toBe(false);
  });
});

describe('Destructors', () => {
  it('leaving an `await using` scope early stops the DMA before the memory is freed', async () => {
    const { board, vb, serial } = await open();
    const buf = board.alloc(64);
    const address = buf.address;
    const scope = async (): Promise<void> => {
      await using t = serial.readExact(buf);
      await t.started;
      vb.peer.inject(text('only 8 b'));
      await sleepVirtual(vb, 1);
      // Early return: the chapter's drop before the transfer is over.
      return;
    };
    await scope();
    expect((await ccr1(target as VirtualTarget)) & 1).toBe(0);
    expect(board.arenaUsage().buffers).toBe(0);
    // The freed memory goes to the next allocation; the stopped DMA leaves it alone.
    const next = board.alloc(64);
    expect(next.address).toBe(address);
    const fill = pattern(64, 9);
    await next.write(fill);
    vb.peer.inject(pattern(80, 4));
    await sleepVirtual(vb, 2);
    expect(await next.read()).toEqual(fill);
  });

  it('a throw inside the scope disposes too; a waited transfer is not disposed twice', async () => {
    const { board, vb, serial } = await open();
    let handedBack: Serial1 | undefined;
    await expect(
      (async () => {
        await using t = serial.readExact(board.alloc(32));
        await t.started;
        throw new Error('early');
      })(),
    ).rejects.toThrow('early');
    expect((await ccr1(target as VirtualTarget)) & 1).toBe(0);
    expect(board.arenaUsage().buffers).toBe(0);

    // A transfer waited on inside the scope keeps what wait() returned.
    await board.recover(); // the disposed transfer dropped the serial with it: take USART1 again
    const s2 = await Serial1.take(board, { baudRate: FAST_BAUD });
    const buf = board.alloc(4);
    {
      await using t: Transfer<Serial1> = s2.readExact(buf);
      await t.started;
      vb.peer.inject(text('wxyz'));
      const r = await t.wait();
      handedBack = r.serial;
      expect(str(await r.buffer.read())).toBe('wxyz');
    }
    expect(board.arenaUsage().buffers).toBe(1);
    expect(handedBack).toBeInstanceOf(Serial1);
  });
});
