/**
 * The safe Transfer API against the real firmware on the virtual board.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/index.ts';
import { MovedError } from '../driver/board/index.ts';
import { openVirtualTarget, peerText, type VirtualTarget } from './support/virtual-target.ts';

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

const text = (s: string) => new TextEncoder().encode(s);

describe('writeAll / readExact on the virtual board', () => {
  it('writes "Hello, world!" by DMA; the serial and buffer are moved until wait() hands them back', async () => {
    target = await openVirtualTarget();
    const { board, vb } = target;
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    const buf = board.alloc(13);
    await buf.write(text('Hello, world!'));
    const t = serial.writeAll(buf);
    expect(() => serial.write(0x41)).toThrow(MovedError);
    await expect(buf.read()).rejects.toThrow(/moved by writeAll\(\)/);
    const { buffer, serial: s2 } = await t.wait();
    expect(peerText(vb)).toBe('Hello, world!');
    expect(t.isDone()).toBe(true);
    expect(new TextDecoder().decode(await buffer.read())).toBe('Hello, world!');
    expect(s2).toBeInstanceOf(Serial1);
  });

  it('reads 16 bytes injected by the peer', async () => {
    target = await openVirtualTarget();
    const { board, vb } = target;
    const serial = await Serial1.take(board, { baudRate: 115_200 });
    const buf = board.alloc(16);
    const t = serial.readExact(buf);
    await t.started;
    vb.peer.inject(text('0123456789abcdef'));
    const { buffer } = await t.wait();
    expect(new TextDecoder().decode(await buffer.read())).toBe('0123456789abcdef');
  });
});
