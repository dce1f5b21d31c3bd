/**
 * The system bus: RAM/flash as typed arrays, aliases of them, and
 * memory-mapped devices. Bus masters that want speed look up a `MemoryRegion`
 * once (`memoryAt`) and index its typed arrays directly; everything else goes
 * through `read`/`write`.
 */
import {
  type AccessSize,
  type Bus,
  type BusAccessObserver,
  BusError,
  type MemoryMappedDevice,
  peekDevice,
} from './bus.ts';

// Typed-array views use host byte order; the target is little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('the emulator needs a little-endian host');
}

/** A window of plain memory. Aliases share the arrays of their target. */
export interface MemoryRegion {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  readonly writable: boolean;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
}

interface Mapping {
  readonly base: number;
  readonly size: number;
  readonly memory: MemoryRegion | null;
  readonly device: MemoryMappedDevice | null;
}

export interface MapMemoryOptions {
  readonly writable: boolean;
  readonly name?: string;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function readMemory(mem: MemoryRegion, off: number, size: AccessSize): number {
  if (size === 4 && (off & 3) === 0) return mem.i32[off >>> 2]! >>> 0;
  if (size === 2 && (off & 1) === 0) return mem.u16[off >>> 1]!;
  let v = 0;
  for (let i = size - 1; i >= 0; i--) v = (v << 8) | mem.u8[off + i]!;
  return v >>> 0;
}

export class SystemBus implements Bus {
  /** Sorted by base address, non-overlapping. */
  private mappings: Mapping[] = [];
  /** `mappings` as mapped, when an observer has them wrapped. */
  private plain: Mapping[] | null = null;
  private observer: BusAccessObserver | null = null;
  private last: Mapping | null = null;
  /** The mapping found before `last`: a DMA moving between memory and a register alternates between two. */
  private previous: Mapping | null = null;
  private accessGuard: ((address: number, size: number) => void) | null = null;
  /** Told before an observer is set or removed (a model that skips the bus must stop skipping it). */
  onObserverChange: (() => void) | null = null;

  /**
   * Calls `guard` before every access through `read`, `write`, `peek` and
   * `load` (not the core's direct memory accesses) until set to null: for a
   * model that works memory contents out lazily (bulk-engine.ts).
   */
  setAccessGuard(guard: ((address: number, size: number) => void) | null): void {
    this.accessGuard = guard;
  }

  /** Whether an observer is told of every access. */
  get observed(): boolean {
    return this.observer !== null;
  }

  /** Map `bytes` at `base`. Base and length must be multiples of 4. */
  mapMemory(base: number, bytes: Uint8Array, options: MapMemoryOptions): MemoryRegion {
    if (bytes.byteOffset % 4 !== 0 || bytes.byteLength % 4 !== 0 || base % 4 !== 0) {
      throw new RangeError('mapMemory: base, length and buffer offset must be multiples of 4');
    }
    const region: MemoryRegion = {
      name: options.name ?? `memory@${hex(base)}`,
      base: base >>> 0,
      size: bytes.byteLength,
      writable: options.writable,
      u8: bytes,
      u16: new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1),
      i32: new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2),
    };
    this.add({ base: region.base, size: region.size, memory: region, device: null });
    return region;
  }

  /** Make `size` bytes at `base` show the memory mapped at `targetBase`. */
  mapAlias(base: number, size: number, targetBase: number): MemoryRegion {
    const target = this.find(targetBase >>> 0);
    const mem = target?.memory;
    if (!mem || (targetBase >>> 0) - mem.base + size > mem.size) {
      throw new RangeError(`mapAlias: no memory of ${size} bytes at ${hex(targetBase)}`);
    }
    const start = (targetBase >>> 0) - mem.base;
    return this.mapMemory(base, mem.u8.subarray(start, start + size), {
      writable: mem.writable,
      name: `${mem.name} alias`,
    });
  }

  mapDevice(base: number, size: number, device: MemoryMappedDevice): void {
    this.add({ base: base >>> 0, size, memory: null, device });
  }

  /** The memory region containing `address`, or undefined (device or hole). */
  memoryAt(address: number): MemoryRegion | undefined {
    return this.find(address >>> 0)?.memory ?? undefined;
  }

  /** All memory regions, aliases included. */
  get memories(): MemoryRegion[] {
    return this.mappings.flatMap((m) => (m.memory ? [m.memory] : []));
  }

  read(address: number, size: AccessSize): number {
    const a = address >>> 0;
    if (this.accessGuard !== null) this.accessGuard(a, size);
    const m = this.find(a);
    if (m === undefined || a + size > m.base + m.size) throw new BusError(a, false, size);
    const off = a - m.base;
    if (m.device) return m.device.read(off, size);
    return readMemory(m.memory!, off, size);
  }

  /**
   * Reads as a debugger does, without side effects (see
   * `MemoryMappedDevice.peek`); unobserved. Throws `BusError` where `read` would.
   */
  peek(address: number, size: AccessSize): number {
    const a = address >>> 0;
    if (this.accessGuard !== null) this.accessGuard(a, size);
    const m = this.find(a);
    if (m === undefined || a + size > m.base + m.size) throw new BusError(a, false, size);
    const off = a - m.base;
    if (m.memory) return readMemory(m.memory, off, size);
    return peekDevice(m.device!, off, size);
  }

  /**
   * Tells `observer` of every access made through `read` and `write` (a
   * watchpoint's view of DMA and device accesses); null stops. The
   * unobserved bus runs its usual path: the observer costs nothing until set.
   */
  setObserver(observer: BusAccessObserver | null): void {
    this.onObserverChange?.();
    this.observer = observer;
    const plain = this.plain ?? this.mappings;
    this.plain = observer ? plain : null;
    this.mappings = observer ? plain.map((m) => observedMapping(m, observer)) : plain;
    this.last = null;
    this.previous = null;
  }

  write(address: number, value: number, size: AccessSize): void {
    const a = address >>> 0;
    if (this.accessGuard !== null) this.accessGuard(a, size);
    const m = this.find(a);
    if (m === undefined || a + size > m.base + m.size) throw new BusError(a, true, size);
    const off = a - m.base;
    if (m.device) {
      m.device.write(off, size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff), size);
      return;
    }
    const mem = m.memory!;
    if (!mem.writable) throw new BusError(a, true, size);
    for (let i = 0; i < size; i++) mem.u8[off + i] = value >>> (8 * i);
  }

  /**
   * Copy `bytes` into memory at `address`, writable or not (a programmer or
   * loader writing flash). Throws if any byte falls outside mapped memory.
   */
  load(address: number, bytes: Uint8Array): void {
    let a = address >>> 0;
    if (this.accessGuard !== null) this.accessGuard(a, bytes.length);
    let done = 0;
    while (done < bytes.length) {
      const mem = this.memoryAt(a);
      if (!mem) {
        throw new RangeError(`load: ${bytes.length - done} byte(s) at ${hex(a)} fall outside mapped memory`);
      }
      const off = a - mem.base;
      const n = Math.min(mem.size - off, bytes.length - done);
      mem.u8.set(bytes.subarray(done, done + n), off);
      done += n;
      a += n;
    }
  }

  private add(m: Mapping): void {
    if (m.size <= 0 || m.base + m.size > 0x1_0000_0000)
      throw new RangeError('mapping outside the address space');
    for (const o of this.mappings) {
      if (m.base < o.base + o.size && o.base < m.base + m.size) {
        throw new RangeError(`mapping at ${hex(m.base)} overlaps one at ${hex(o.base)}`);
      }
    }
    const sorted = [...(this.plain ?? this.mappings), m].sort((x, y) => x.base - y.base);
    this.plain = null;
    this.mappings = sorted;
    this.setObserver(this.observer);
  }

  private find(a: number): Mapping | undefined {
    const last = this.last;
    if (last !== null && a - last.base < last.size && a >= last.base) return last;
    const previous = this.previous;
    if (previous !== null && a - previous.base < previous.size && a >= previous.base) {
      this.previous = last;
      this.last = previous;
      return previous;
    }
    const ms = this.mappings;
    let lo = 0;
    let hi = ms.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = ms[mid]!;
      if (a < m.base) hi = mid - 1;
      else if (a >= m.base + m.size) lo = mid + 1;
      else {
        this.previous = last;
        this.last = m;
        return m;
      }
    }
    return undefined;
  }
}

/** A mapping whose accesses through the bus are told to `observer` first; memory stays directly indexable. */
function observedMapping(m: Mapping, observer: BusAccessObserver): Mapping {
  const inner = m.device;
  const mem = m.memory;
  const device: MemoryMappedDevice = {
    name: inner?.name ?? mem!.name,
    read(offset, size) {
      observer(m.base + offset, size, false);
      return inner ? inner.read(offset, size) : readMemory(mem!, offset, size);
    },
    write(offset, value, size) {
      observer(m.base + offset, size, true);
      if (inner) {
        inner.write(offset, value, size);
        return;
      }
      if (!mem!.writable) throw new BusError(m.base + offset, true, size);
      for (let i = 0; i < size; i++) mem!.u8[offset + i] = value >>> (8 * i);
    },
    peek: (offset, size) => (inner ? peekDevice(inner, offset, size) : readMemory(mem!, offset, size)),
  };
  return { base: m.base, size: m.size, memory: mem, device };
}
