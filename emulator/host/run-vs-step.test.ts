/**
 * The core's batched execution (`run`: instructions until the next due
 * event, events between them) against its per-instruction reference path
 * (`step`: one instruction, then the clock), on the real bridge firmware
 * with traffic on both USARTs: the same peripheral reads with the same
 * values at the same cycle, the same bytes out at the same times, the same
 * core state at the end. Flash wait states are on in both (the firmware
 * sets LATENCY = 2 with the prefetch and the cache).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../driver/protocol/index.ts';
import { VirtualBoard } from './virtual-board.ts';

const ELF = fileURLToPath(new URL('../../firmware-bridge/build/bridge.elf', import.meta.url));
const RUN_NS = 40e6;
const PERIPHERALS = 0x4000_0000;

interface Trace {
  reads: string[];
  usart2: string[];
  usart1: string[];
  end: string;
}

function traced(mode: 'run' | 'step' | 'observed'): Trace {
  const vb = new VirtualBoard({ firmware: new Uint8Array(readFileSync(ELF)), usart1: 'peer', sramSeed: 7 });
  const { chip } = vb;
  const cpu = chip.cpu;
  const trace: Trace = { reads: [], usart2: [], usart1: [], end: '' };
  const read = chip.bus.read.bind(chip.bus);
  chip.bus.read = (address, size) => {
    const value = read(address, size);
    if (address >>> 0 >= PERIPHERALS) trace.reads.push(`${cpu.cycles} ${address.toString(16)} ${value}`);
    return value;
  };
  chip.usart2.onTransmit = (byte, timeNs) => trace.usart2.push(`${timeNs} ${byte}`);
  vb.peer.onByte((byte, timeNs) => trace.usart1.push(`${timeNs} ${byte}`));
  // Traffic at fixed virtual times: frames on the host link (a HELLO, pings the firmware answers while
  // more arrive, some garbage) and bytes on USART1's RX.
  const clock = chip.clock;
  const frames = [
    encodeMessage({ kind: 'request', command: 'hello', seq: 1 }),
    ...[2, 3, 4].map((seq) =>
      encodeMessage({ kind: 'request', command: 'ping', seq, data: new Uint8Array(40).fill(seq) }),
    ),
    Uint8Array.of(0x11, 0x22, 0x00),
  ];
  clock.schedule(4e6, () => {
    for (const frame of frames) for (const b of frame) chip.usart2.receive(b);
  });
  clock.schedule(6e6, () => vb.peer.inject([0x55, 0xaa, 0x00, 0x7e]));
  // A debugger that watches and never stops: the core runs its exact path, every access on the slow path.
  if (mode === 'observed') cpu.setObserver({ shouldStop: () => false, access: () => {} });
  if (mode === 'run' || mode === 'observed') {
    while (chip.clock.nowNs < RUN_NS) cpu.run(Math.min(250_000, RUN_NS - chip.clock.nowNs));
  } else {
    while (cpu.nowNs < RUN_NS) {
      const r = cpu.step();
      if (r.reason !== 'step') break;
    }
  }
  trace.end = JSON.stringify({ r: [...cpu.r], pc: cpu.pc, apsr: cpu.apsr, cycles: cpu.cycles });
  return trace;
}

describe.skipIf(!existsSync(ELF))('the core run in batches against one instruction at a time', () => {
  it('gives the firmware the same reads at the same cycles, and the same bytes out at the same times', () => {
    const batched = traced('run');
    const stepped = traced('step');
    expect(batched.reads.length).toBeGreaterThan(500);
    expect(batched.usart2.length).toBeGreaterThan(0);
    // Compare up to the shorter run's end: the two stop at slightly different instruction boundaries.
    const n = Math.min(batched.reads.length, stepped.reads.length);
    expect(batched.reads.slice(0, n)).toEqual(stepped.reads.slice(0, n));
    expect(batched.usart2).toEqual(stepped.usart2);
    expect(batched.usart1).toEqual(stepped.usart1);
  });

  it('gives the same with a debugger attached (the exact path, every access slow), wait states included', () => {
    const batched = traced('run');
    const observed = traced('observed');
    expect(observed.reads).toEqual(batched.reads);
    expect(observed.usart2).toEqual(batched.usart2);
    expect(observed.end).toEqual(batched.end);
  });
});
