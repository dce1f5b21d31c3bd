/** The bus's debugger paths: reads without side effects, and an observer of accesses that costs nothing once removed. */
import { describe, expect, it } from 'vitest';
import { type AccessSize, BusError, type MemoryMappedDevice } from './bus.ts';
import { SystemBus } from './system-bus.ts';

class Fifo implements MemoryMappedDevice {
  readonly name = 'fifo';
  queue = [7, 8];
  read(_offset: number, _size: AccessSize): number {
    return this.queue.shift() ?? 0; // a read takes the head
  }
  peek(_offset: number, _size: AccessSize): number {
    return this.queue[0] ?? 0;
  }
  write(_offset: number, value: number): void {
    this.queue.push(value);
  }
}

function bus() {
  const b = new SystemBus();
  const ram = new Uint8Array(64);
  const fifo = new Fifo();
  b.mapMemory(0x2000_0000, ram, { writable: true });
  b.mapDevice(0x4000_0000, 0x400, fifo);
  b.mapDevice(0x4000_0400, 0x400, { name: 'plain', read: () => 0x55, write: () => {} });
  return { b, ram, fifo };
}

describe('SystemBus for a debugger', () => {
  it('peeks memory and devices without side effects; a device without peek answers with read', () => {
    const { b, ram, fifo } = bus();
    ram.set([1, 2, 3, 4]);
    expect(b.peek(0x2000_0000, 4)).toBe(0x04030201);
    expect(b.peek(0x4000_0000, 4)).toBe(7);
    expect(b.peek(0x4000_0000, 4)).toBe(7);
    expect(fifo.queue).toEqual([7, 8]);
    expect(b.peek(0x4000_0400, 1)).toBe(0x55);
    expect(() => b.peek(0x3000_0000, 4)).toThrow(BusError);
  });

  it('tells an observer of every access through read and write, memory included, until removed', () => {
    const { b, fifo } = bus();
    const seen: string[] = [];
    b.setObserver((a, size, isWrite) => seen.push(`${isWrite ? 'w' : 'r'}${size}@${a.toString(16)}`));
    b.write(0x2000_0010, 0xabcd, 2);
    expect(b.read(0x2000_0010, 2)).toBe(0xabcd);
    expect(b.read(0x4000_0000, 4)).toBe(7);
    b.write(0x4000_0004, 9, 4);
    expect(b.peek(0x4000_0000, 4)).toBe(8); // peeks are not accesses
    expect(b.memoryAt(0x2000_0000)?.name).toBe('memory@0x20000000'); // the core still indexes memory directly
    // A mapping added while observed is observed too.
    b.mapMemory(0x2000_1000, new Uint8Array(16), { writable: true });
    b.write(0x2000_1000, 1, 1);
    b.setObserver(null);
    b.read(0x2000_0010, 2);
    b.write(0x2000_1000, 2, 1);
    expect(seen).toEqual(['w2@20000010', 'r2@20000010', 'r4@40000000', 'w4@40000004', 'w1@20001000']);
    expect(fifo.queue).toEqual([8, 9]);
  });

  it('keeps flash read-only under observation', () => {
    const b = new SystemBus();
    b.mapMemory(0x0800_0000, new Uint8Array(16), { writable: false });
    b.setObserver(() => {});
    expect(() => b.write(0x0800_0000, 1, 1)).toThrow(BusError);
  });
});
