/**
 * A debugger attached costs exactness nothing: the core observed (one
 * instruction at a time, no memory region cached, every access seen) gives
 * the bridge firmware the same peripheral reads at the same cycles and puts
 * the same bytes out at the same times as the core unobserved, with flash
 * wait states on. And the observer does see the instructions and accesses.
 */
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../driver/protocol/index.ts';
import { loadFirmware } from '../../test/support/firmware.ts';
import { VirtualBoard } from '../host/virtual-board.ts';

const RUN_NS = 30e6;

function traced(observed: boolean) {
  const vb = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer', sramSeed: 7 });
  const { chip } = vb;
  const cpu = chip.cpu;
  const reads: string[] = [];
  const out: string[] = [];
  let instructions = 0;
  let accesses = 0;
  const read = chip.bus.read.bind(chip.bus);
  chip.bus.read = (address, size) => {
    const value = read(address, size);
    if (address >>> 0 >= 0x4000_0000) reads.push(`${cpu.cycles} ${address.toString(16)} ${value}`);
    return value;
  };
  chip.usart2.onTransmit = (byte, timeNs) => out.push(`${timeNs} ${byte}`);
  if (observed) {
    cpu.setObserver({
      shouldStop: () => {
        instructions++;
        return false;
      },
      access: () => {
        accesses++;
      },
    });
  }
  chip.clock.schedule(4e6, () => {
    for (const b of encodeMessage({ kind: 'request', command: 'hello', seq: 1 })) chip.usart2.receive(b);
  });
  while (chip.clock.nowNs < RUN_NS) cpu.run(Math.min(250_000, RUN_NS - chip.clock.nowNs));
  return { reads, out, instructions, accesses };
}

describe('the core with an observer attached', () => {
  it('runs the firmware exactly as without one, and shows the observer every instruction and access', () => {
    const plain = traced(false);
    const observed = traced(true);
    expect(plain.reads.length).toBeGreaterThan(200);
    expect(plain.out.length).toBeGreaterThan(0);
    const n = Math.min(plain.reads.length, observed.reads.length);
    expect(observed.reads.slice(0, n)).toEqual(plain.reads.slice(0, n));
    expect(observed.out).toEqual(plain.out);
    expect(observed.instructions).toBeGreaterThan(10_000);
    expect(observed.accesses).toBeGreaterThan(observed.reads.length);
  });
});
