/**
 * run-elf's machine under a debugger: held at reset until told to run, a
 * breakpoint before its instruction, a write watchpoint after its store, a
 * BKPT that stops in the debugger instead of ending the run, then the end.
 */
import { describe, expect, it } from 'vitest';
import { boot, CODE, DATA } from '../core/test-support/board.ts';
import { addsImm, bkpt, ldrLit, movsImm, nop, str } from '../core/test-support/thumb.ts';
import { CoreDebugTarget } from './core-target.ts';
import { MachineRunner } from './machine-runner.ts';
import type { StopReason } from './target.ts';

describe('the machine runner as a debug host', () => {
  it('holds at reset, stops at a breakpoint, a watchpoint and a BKPT, and ends when the program does', async () => {
    // r1 = DATA; r0 = 5; r0 += 1; [r1] = r0; nop; BKPT 7; nop; BKPT 0xfe (the end: no debugger then)
    const m = boot([
      ldrLit(1, 8), // the literal below, at CODE + 12 rounded to the word
      movsImm(0, 5),
      addsImm(0, 1),
      str(0, 1, 0),
      nop(),
      bkpt(7),
      [DATA & 0xffff, DATA >>> 16],
    ]);
    const runner = new MachineRunner(m, { limitNs: 1e9 });
    runner.hold();
    const target = new CoreDebugTarget(runner);
    const stops: StopReason[] = [];
    target.onStop = (r) => stops.push(r);
    const done = runner.run();
    const settle = () => new Promise((r) => setTimeout(r, 5));
    await settle();
    expect(target.halted).toBe(true);
    expect(target.readRegisters()[15]).toBe(CODE);
    target.addBreakpoint(CODE + 4);
    target.addWatchpoint('write', DATA, 4);
    target.resume();
    await settle();
    expect(stops).toEqual([{ kind: 'breakpoint' }]);
    expect(target.readRegisters()[15]).toBe(CODE + 4);
    expect(target.readRegisters()[0]).toBe(5); // the ADDS has not run
    target.resume();
    await settle();
    expect(stops[1]).toEqual({ kind: 'watch', watch: 'write', address: DATA });
    expect(target.readRegisters()[15]).toBe(CODE + 8); // after the STR
    expect([...target.readMemory(DATA, 4)]).toEqual([6, 0, 0, 0]);
    target.resume();
    await settle();
    expect(stops[2]).toEqual({ kind: 'bkpt' });
    expect(target.readRegisters()[15]).toBe(CODE + 10);
    target.detach();
    // Past the BKPT the core runs on through the literal and the empty flash after it until a fetch
    // faults; the HardFault handler is a BKPT, which with no debugger attached ends the run.
    const result = await done;
    expect(result.reason).toBe('breakpoint');
  });
});
