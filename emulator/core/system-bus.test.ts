import { describe, expect, it } from 'vitest';
import { type AccessSize, BusError, type MemoryMappedDevice } from './bus.ts';
import { SystemBus } from './system-bus.ts';

class Recorder implements MemoryMappedDevice {
  readonly name = 'rec';
  readonly log: string[] = [];
  read(offset: number, size: AccessSize): number {
    this.log.push(`r${size}@${offset}`);
    return 0x1234;
  }
  write(offset: number, value: number, size: AccessSize): void {
    this.log.push(`w${size}@${offset}=${value.toString(16)}`);
  }
}

function bus(): { b: SystemBus; flash: Uint8Array; ram: Uint8Array; dev: Recorder } {
  const b = new SystemBus();
  const flash = new Uint8Array(1024);
  const ram = new Uint8Array(256);
  const dev = new Recorder();
  b.mapMemory(0x08000000, flash, { writable: false });
  b.mapAlias(0, 1024, 0x08000000);
  b.mapMemory(0x20000000, ram, { writable: true });
  b.mapDevice(0x40000000, 0x400, dev);
  return { b, flash, ram, dev };
}

describe('SystemBus', () => {
  it('reads and writes memory little-endian at every width and alignment', () => {
    const { b, ram } = bus();
    b.write(0x20000001, 0xaabbccdd, 4);
    expect([...ram.subarray(0, 6)]).toEqual([0, 0xdd, 0xcc, 0xbb, 0xaa, 0]);
    expect(b.read(0x20000001, 4)).toBe(0xaabbccdd);
    expect(b.read(0x20000002, 2)).toBe(0xbbcc);
    expect(b.read(0x20000004, 1)).toBe(0xaa);
    b.write(0x20000008, 0xfffe, 2);
    expect(b.read(0x20000008, 4)).toBe(0xfffe);
  });

  it('shows flash at its alias and refuses writes to it', () => {
    const { b, flash } = bus();
    b.load(0x08000010, new Uint8Array([1, 2, 3, 4]));
    expect(flash[0x10]).toBe(1);
    expect(b.read(0x10, 4)).toBe(0x04030201);
    expect(() => b.write(0x08000010, 0, 4)).toThrow(BusError);
    expect(() => b.write(0x10, 0, 1)).toThrow(BusError);
  });

  it('passes device accesses with offsets and masked values', () => {
    const { b, dev } = bus();
    expect(b.read(0x40000008, 4)).toBe(0x1234);
    b.write(0x40000004, 0x1ff, 1);
    b.write(0x40000006, -1, 2);
    expect(dev.log).toEqual(['r4@8', 'w1@4=ff', 'w2@6=ffff']);
  });

  it('throws BusError for holes and for accesses straddling a region end', () => {
    const { b } = bus();
    expect(() => b.read(0x30000000, 4)).toThrow(BusError);
    expect(() => b.read(0x200000fe, 4)).toThrow(/0x200000fe/);
    expect(() => b.write(0xffffffff, 0, 1)).toThrow(BusError);
  });

  it('hands bus masters the typed arrays of a memory region', () => {
    const { b, ram } = bus();
    const region = b.memoryAt(0x20000010)!;
    expect(region.base).toBe(0x20000000);
    expect(region.u8).toBe(ram);
    region.i32[1] = -1;
    expect(b.read(0x20000004, 4)).toBe(0xffffffff);
    expect(b.memoryAt(0x40000000)).toBeUndefined();
    expect(b.memories.map((m) => m.base)).toEqual([0, 0x08000000, 0x20000000]);
  });

  it('rejects overlapping mappings and misaligned memories', () => {
    const { b } = bus();
    expect(() => b.mapMemory(0x200000f0, new Uint8Array(64), { writable: true })).toThrow(/overlaps/);
    expect(() => b.mapMemory(0x30000000, new Uint8Array(6), { writable: true })).toThrow(RangeError);
    expect(() => b.mapAlias(0x50000000, 4096, 0x08000000)).toThrow(RangeError);
  });

  it('load refuses bytes outside memory', () => {
    const { b } = bus();
    expect(() => b.load(0x200000fe, new Uint8Array(4))).toThrow(/outside mapped memory/);
  });
});
