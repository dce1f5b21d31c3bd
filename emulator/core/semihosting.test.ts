import { describe, expect, it } from 'vitest';
import {
  ADP_STOPPED_APPLICATION_EXIT,
  SemihostingOp as Op,
  Semihosting,
  type SemihostingMemory,
} from './semihosting.ts';

function memory(): SemihostingMemory & { bytes: Uint8Array; put(a: number, data: number[] | string): void } {
  const bytes = new Uint8Array(256);
  const view = new DataView(bytes.buffer);
  return {
    bytes,
    read8: (a) => bytes[a]!,
    read32: (a) => view.getUint32(a, true),
    write8: (a, v) => {
      bytes[a] = v;
    },
    write32: (a, v) => view.setUint32(a, v >>> 0, true),
    put(a, data) {
      if (typeof data === 'string') bytes.set(new TextEncoder().encode(`${data}\0`), a);
      else for (const [i, w] of data.entries()) view.setUint32(a + 4 * i, w >>> 0, true);
    },
  };
}

function host(): { sh: Semihosting; out: Array<[string, string]> } {
  const out: Array<[string, string]> = [];
  return { sh: new Semihosting({ onOutput: (t, s) => out.push([s, t]), nowNs: () => 2.5e9 }), out };
}

describe('semihosting', () => {
  it('SYS_WRITEC, SYS_WRITE0, SYS_WRITE to stdout and stderr', () => {
    const { sh, out } = host();
    const mem = memory();
    mem.put(0, 'héllo');
    mem.put(64, [1, 0, 3]);
    mem.put(80, [2, 1, 2]);
    mem.bytes[100] = 0x41;
    expect(sh.call(Op.SYS_WRITEC, 100, mem)).toEqual({ kind: 'return', r0: 0 });
    expect(sh.call(Op.SYS_WRITE0, 0, mem)).toEqual({ kind: 'return', r0: 0 });
    expect(sh.call(Op.SYS_WRITE, 64, mem)).toEqual({ kind: 'return', r0: 0 });
    expect(sh.call(Op.SYS_WRITE, 80, mem)).toEqual({ kind: 'return', r0: 0 });
    expect(out).toEqual([
      ['stdout', 'A'],
      ['stdout', 'héllo'],
      ['stdout', 'hé'],
      ['stderr', 'é'],
    ]);
  });

  it('decodes UTF-8 split across calls', () => {
    const { sh, out } = host();
    const mem = memory();
    mem.bytes[0] = 0xc3;
    mem.bytes[1] = 0xa9;
    sh.call(Op.SYS_WRITEC, 0, mem);
    sh.call(Op.SYS_WRITEC, 1, mem);
    expect(out).toEqual([['stdout', 'é']]);
  });

  it('SYS_WRITE to another handle writes nothing', () => {
    const { sh, out } = host();
    const mem = memory();
    mem.put(0, [7, 0, 5]);
    expect(sh.call(Op.SYS_WRITE, 0, mem)).toEqual({ kind: 'return', r0: 5 });
    expect(out).toEqual([]);
  });

  it('SYS_EXIT: the reason code itself; only ApplicationExit is success', () => {
    const { sh } = host();
    expect(sh.call(Op.SYS_EXIT, ADP_STOPPED_APPLICATION_EXIT, memory())).toEqual({ kind: 'exit', code: 0 });
    expect(sh.call(Op.SYS_EXIT, 0x20023, memory())).toEqual({ kind: 'exit', code: 1 });
  });

  it('SYS_EXIT_EXTENDED: the subcode is the exit code', () => {
    const { sh } = host();
    const mem = memory();
    mem.put(0, [ADP_STOPPED_APPLICATION_EXIT, 42]);
    expect(sh.call(Op.SYS_EXIT_EXTENDED, 0, mem)).toEqual({ kind: 'exit', code: 42 });
    mem.put(0, [ADP_STOPPED_APPLICATION_EXIT, 0]);
    expect(sh.call(Op.SYS_EXIT_EXTENDED, 0, mem)).toEqual({ kind: 'exit', code: 0 });
    mem.put(0, [0x20023, 0]);
    expect(sh.call(Op.SYS_EXIT_EXTENDED, 0, mem)).toEqual({ kind: 'exit', code: 1 });
  });

  it("answers rdimon's start-up calls harmlessly", () => {
    const { sh } = host();
    const mem = memory();
    mem.put(0, ':tt');
    mem.put(16, [0, 4, 3]);
    expect(sh.call(Op.SYS_OPEN, 16, mem)).toEqual({ kind: 'return', r0: 1 });
    mem.put(16, [0, 8, 3]);
    expect(sh.call(Op.SYS_OPEN, 16, mem)).toEqual({ kind: 'return', r0: 2 });
    mem.put(32, [0xdeadbeef, 1, 2, 3]);
    mem.put(48, [32]);
    expect(sh.call(Op.SYS_HEAPINFO, 48, mem)).toEqual({ kind: 'return', r0: 0 });
    expect([mem.read32(32), mem.read32(44)]).toEqual([0, 0]);
    expect(sh.call(Op.SYS_ERRNO, 0, mem)).toEqual({ kind: 'return', r0: 0 });
    expect(sh.call(Op.SYS_CLOCK, 0, mem)).toEqual({ kind: 'return', r0: 250 });
    expect(sh.call(Op.SYS_TIME, 0, mem)).toEqual({ kind: 'return', r0: 2 });
    expect(sh.call(0x99, 0, mem)).toEqual({ kind: 'return', r0: -1 });
  });
});
