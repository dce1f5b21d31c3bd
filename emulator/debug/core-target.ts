/**
 * The debug target of an ARMv6-M core on a host that can hold it (see
 * debug-host.ts): registers, memory through the bus's debugger path
 * (peripheral reads without side effects), and run control. The core's
 * observer is attached only while a breakpoint or watchpoint is set, so a
 * debugger that just looks costs the running board nothing.
 */
import type { AccessSize } from '../core/bus.ts';
import type { RunResult } from '../core/cpu.ts';
import { SCS_BASE, SCS_SIZE } from '../core/scs.ts';
import { REG, REGISTER_NAMES } from './cortex-m-registers.ts';
import type { DebugHost } from './debug-host.ts';
import type { DebugTarget, StopReason, WatchKind } from './target.ts';
import { WatchPoints } from './watch-points.ts';

/** The most a single memory request may cover (GDB asks for at most PacketSize / 2). */
const MAX_ACCESS = 0x10000;

export class CoreDebugTarget implements DebugTarget {
  onStop: ((reason: StopReason) => void) | null = null;
  private readonly points = new WatchPoints();
  private readonly unsubscribe: () => void;
  private observing = false;
  private busObserved = false;

  constructor(private readonly host: DebugHost) {
    this.unsubscribe = host.onRunStop((result) => {
      const reason = this.reasonOf(result);
      if (reason) this.onStop?.(reason);
    });
  }

  get halted(): boolean {
    return this.host.held;
  }

  readRegisters(): number[] {
    const cpu = this.host.cpu;
    const regs: number[] = [];
    for (let n = 0; n < 13; n++) regs.push(cpu.r[n]! >>> 0);
    regs.push(cpu.sp, cpu.r[14]! >>> 0, cpu.pc >>> 0, cpu.xpsr, cpu.msp, cpu.psp, cpu.primask, cpu.control);
    return regs;
  }

  writeRegister(n: number, value: number): boolean {
    const cpu = this.host.cpu;
    const v = value >>> 0;
    if (n < 0 || n >= REGISTER_NAMES.length) return false;
    if (n < 13 || n === REG.LR) cpu.r[n] = v;
    else if (n === REG.SP) cpu.r[13] = v & ~3;
    else if (n === REG.PC) cpu.pc = v & ~1;
    // The flags only: IPSR follows the exception state, and EPSR.T is always 1.
    else if (n === REG.XPSR) cpu.apsr = v;
    else if (n === REG.MSP) cpu.msp = v;
    else if (n === REG.PSP) cpu.psp = v;
    else if (n === REG.PRIMASK) cpu.primask = v & 1;
    else cpu.control = v;
    return true;
  }

  readMemory(address: number, length: number): Uint8Array {
    if (length > MAX_ACCESS) throw new RangeError(`read of ${length} bytes: at most ${MAX_ACCESS} at a time`);
    const out = new Uint8Array(length);
    let i = 0;
    // Word and halfword reads where aligned: peripheral registers answer those widths.
    while (i < length) {
      const a = (address + i) >>> 0;
      const size: AccessSize =
        (a & 3) === 0 && length - i >= 4 ? 4 : (a & 1) === 0 && length - i >= 2 ? 2 : 1;
      const v = this.peek(a, size);
      for (let k = 0; k < size; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
      i += size;
    }
    return out;
  }

  writeMemory(address: number, bytes: Uint8Array): void {
    const { bus, cpu } = this.host;
    this.points.quiet = true;
    try {
      let i = 0;
      while (i < bytes.length) {
        const a = (address + i) >>> 0;
        if (a >= SCS_BASE && a < SCS_BASE + SCS_SIZE) {
          // The SCS takes words only.
          if ((a & 3) !== 0 || bytes.length - i < 4) throw new RangeError('the SCS takes aligned words only');
          cpu.scs.write(a - SCS_BASE, word(bytes, i, 4), 4);
          i += 4;
          continue;
        }
        const mem = bus.memoryAt(a);
        if (mem) {
          // Flash too, as a programmer writes it.
          const n = Math.min(bytes.length - i, mem.base + mem.size - a);
          bus.load(a, bytes.subarray(i, i + n));
          i += n;
          continue;
        }
        const size: AccessSize =
          (a & 3) === 0 && bytes.length - i >= 4 ? 4 : (a & 1) === 0 && bytes.length - i >= 2 ? 2 : 1;
        bus.write(a, word(bytes, i, size), size);
        i += size;
      }
    } finally {
      this.points.quiet = false;
    }
  }

  addBreakpoint(address: number): void {
    this.points.addBreakpoint(address);
    this.updateObservers();
  }

  removeBreakpoint(address: number): void {
    this.points.removeBreakpoint(address);
    this.updateObservers();
  }

  addWatchpoint(kind: WatchKind, address: number, length: number): void {
    this.points.addWatch(kind, address, length);
    this.updateObservers();
  }

  removeWatchpoint(kind: WatchKind, address: number, length: number): void {
    this.points.removeWatch(kind, address, length);
    this.updateObservers();
  }

  halt(): void {
    if (this.host.held) return;
    this.host.hold();
    this.onStop?.({ kind: 'interrupt' });
  }

  resume(): void {
    this.points.resumingAt(this.host.cpu.pc);
    this.host.release();
  }

  step(): StopReason {
    this.points.resumingAt(this.host.cpu.pc);
    const result = this.host.step();
    return this.points.takeHit() ?? this.reasonOf(result) ?? { kind: 'step' };
  }

  reset(): void {
    this.host.reset();
    this.points.resumingAt(-1);
  }

  detach(): void {
    this.points.clear();
    this.updateObservers();
    this.unsubscribe();
    this.onStop = null;
    if (this.host.held) this.resume();
  }

  monitor(command: string): string | undefined {
    if (command === 'regs' || command === 'info') {
      const regs = this.readRegisters();
      return `${REGISTER_NAMES.map((n, i) => `${n}=0x${regs[i]!.toString(16).padStart(8, '0')}`).join(' ')}\n`;
    }
    return undefined;
  }

  private peek(a: number, size: AccessSize): number {
    if (a >= SCS_BASE && a < SCS_BASE + SCS_SIZE) {
      // The SCS answers words only: narrower reads take their lanes of the word.
      const w = this.host.cpu.scs.peek((a - SCS_BASE) & ~3, 4);
      return (w >>> (8 * (a & 3))) & (size === 4 ? 0xffffffff : (1 << (8 * size)) - 1);
    }
    return this.host.bus.peek(a, size);
  }

  /** The core's observer and the bus's, each only while something needs them. */
  private updateObservers(): void {
    const { cpu, bus } = this.host;
    const observe = !this.points.isEmpty;
    if (observe !== this.observing) {
      this.observing = observe;
      cpu.setObserver(observe ? this.points : null);
    }
    const watchBus = this.points.hasWatches;
    if (watchBus !== this.busObserved) {
      this.busObserved = watchBus;
      bus.setObserver(watchBus ? this.points.access : null);
    }
  }

  private reasonOf(result: RunResult): StopReason | undefined {
    switch (result.reason) {
      case 'observer':
        return this.points.takeHit() ?? { kind: 'interrupt' };
      case 'breakpoint':
        return { kind: 'bkpt' };
      case 'lockup':
        return { kind: 'lockup', fault: result.fault };
      case 'exit':
        return { kind: 'exit', code: result.code };
      default:
        return undefined;
    }
  }
}

function word(bytes: Uint8Array, at: number, size: number): number {
  let v = 0;
  for (let k = size - 1; k >= 0; k--) v = (v << 8) | bytes[at + k]!;
  return v >>> 0;
}
