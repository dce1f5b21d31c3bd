/**
 * ARM semihosting (the "Semihosting for AArch32 and AArch64" spec), reached
 * on ARMv6-M through `BKPT 0xAB` with the operation in r0 and its argument in
 * r1. Only what bare-metal tests need: console output, exit, and harmless
 * answers for the calls newlib's rdimon startup makes.
 */

export interface SemihostingMemory {
  read8(address: number): number;
  read32(address: number): number;
  write8(address: number, value: number): void;
  write32(address: number, value: number): void;
}

export const SemihostingOp = {
  SYS_OPEN: 0x01,
  SYS_CLOSE: 0x02,
  SYS_WRITEC: 0x03,
  SYS_WRITE0: 0x04,
  SYS_WRITE: 0x05,
  SYS_READ: 0x06,
  SYS_ISTTY: 0x09,
  SYS_SEEK: 0x0a,
  SYS_FLEN: 0x0c,
  SYS_CLOCK: 0x10,
  SYS_TIME: 0x11,
  SYS_ERRNO: 0x13,
  SYS_GET_CMDLINE: 0x15,
  SYS_HEAPINFO: 0x16,
  SYS_EXIT: 0x18,
  SYS_EXIT_EXTENDED: 0x20,
  SYS_ELAPSED: 0x30,
  SYS_TICKFREQ: 0x31,
} as const;

/** ADP_Stopped_ApplicationExit: the reason code of a normal exit. */
export const ADP_STOPPED_APPLICATION_EXIT = 0x20026;

export type OutputStream = 'stdout' | 'stderr';

/** What a semihosting call did: a value for r0, or the program's exit. */
export type SemihostingResult =
  | { readonly kind: 'return'; readonly r0: number }
  | { readonly kind: 'exit'; readonly code: number };

export interface SemihostingOptions {
  /** Console output, decoded as UTF-8 as it arrives. */
  readonly onOutput?: (text: string, stream: OutputStream) => void;
  /** Virtual time in nanoseconds, for SYS_CLOCK/SYS_TIME/SYS_ELAPSED. */
  readonly nowNs?: () => number;
}

/** Handles that SYS_OPEN(":tt") gives out. */
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const MAX_STRING = 1 << 20;

export class Semihosting {
  onOutput: (text: string, stream: OutputStream) => void;
  private readonly nowNs: () => number;
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(options: SemihostingOptions = {}) {
    this.onOutput = options.onOutput ?? (() => {});
    this.nowNs = options.nowNs ?? (() => 0);
  }

  call(op: number, arg: number, mem: SemihostingMemory): SemihostingResult {
    const ret = (r0: number): SemihostingResult => ({ kind: 'return', r0 });
    const word = (i: number): number => mem.read32(arg + 4 * i) >>> 0;
    switch (op) {
      case SemihostingOp.SYS_OPEN: {
        const name = this.readString(mem, word(0), word(2));
        if (name !== ':tt') return ret(-1);
        const mode = word(1);
        return ret(mode < 4 ? STDIN : mode < 8 ? STDOUT : STDERR);
      }
      case SemihostingOp.SYS_CLOSE:
        return ret(0);
      case SemihostingOp.SYS_WRITEC:
        this.emit(new Uint8Array([mem.read8(arg)]), 'stdout');
        return ret(0);
      case SemihostingOp.SYS_WRITE0: {
        const bytes: number[] = [];
        for (let a = arg >>> 0, b = mem.read8(a); b !== 0 && bytes.length < MAX_STRING; b = mem.read8(++a))
          bytes.push(b);
        this.emit(new Uint8Array(bytes), 'stdout');
        return ret(0);
      }
      case SemihostingOp.SYS_WRITE: {
        const fd = word(0);
        const buf = word(1);
        const len = word(2);
        if (fd !== STDOUT && fd !== STDERR) return ret(len);
        const bytes = new Uint8Array(Math.min(len, MAX_STRING));
        for (let i = 0; i < bytes.length; i++) bytes[i] = mem.read8(buf + i);
        this.emit(bytes, fd === STDOUT ? 'stdout' : 'stderr');
        return ret(len - bytes.length); // bytes not written
      }
      case SemihostingOp.SYS_READ:
        return ret(word(2)); // nothing read: end of file
      case SemihostingOp.SYS_ISTTY:
        return ret(word(0) <= STDERR ? 1 : 0);
      case SemihostingOp.SYS_SEEK:
      case SemihostingOp.SYS_FLEN:
        return ret(-1);
      case SemihostingOp.SYS_CLOCK:
        return ret(Math.floor(this.nowNs() / 1e7)); // centiseconds
      case SemihostingOp.SYS_TIME:
        return ret(Math.floor(this.nowNs() / 1e9));
      case SemihostingOp.SYS_ERRNO:
        return ret(0);
      case SemihostingOp.SYS_GET_CMDLINE: {
        // An empty command line.
        if (word(1) > 0) mem.write8(word(0), 0);
        mem.write32(arg + 4, 0);
        return ret(0);
      }
      case SemihostingOp.SYS_HEAPINFO: {
        // Zeros tell rdimon's startup to use its link-time defaults.
        const block = word(0);
        for (let i = 0; i < 4; i++) mem.write32(block + 4 * i, 0);
        return ret(0);
      }
      case SemihostingOp.SYS_EXIT:
        // On 32-bit targets r1 is the reason code itself, with no room for a status.
        return { kind: 'exit', code: arg >>> 0 === ADP_STOPPED_APPLICATION_EXIT ? 0 : 1 };
      case SemihostingOp.SYS_EXIT_EXTENDED: {
        const reason = word(0);
        const subcode = word(1) | 0;
        // The subcode is the exit status; an abnormal stop never reports success.
        const code = reason === ADP_STOPPED_APPLICATION_EXIT || subcode !== 0 ? subcode : 1;
        return { kind: 'exit', code };
      }
      case SemihostingOp.SYS_ELAPSED: {
        const ns = Math.floor(this.nowNs()); // ticks of 1 ns (SYS_TICKFREQ)
        mem.write32(arg, ns % 0x1_0000_0000);
        mem.write32(arg + 4, Math.floor(ns / 0x1_0000_0000));
        return ret(0);
      }
      case SemihostingOp.SYS_TICKFREQ:
        return ret(1_000_000_000);
      default:
        return ret(-1);
    }
  }

  private emit(bytes: Uint8Array, stream: OutputStream): void {
    const text = this.decoders[stream].decode(bytes, { stream: true });
    if (text.length > 0) this.onOutput(text, stream);
  }

  private readString(mem: SemihostingMemory, address: number, length: number): string {
    let s = '';
    for (let i = 0; i < Math.min(length, 4096); i++) s += String.fromCharCode(mem.read8(address + i));
    return s;
  }
}
