/**
 * The peripherals' bulk path (bulk-engine.ts) against their per-character
 * reference path, on the real bridge firmware: the same host traffic at
 * the same virtual times must give the same register accesses (value and
 * core cycle), the same interrupt line changes and handler entries, the
 * same bytes at the same times on both TX wires, and the same SRAM at
 * every slice's end. The traffic here is fixed in virtual time: frames on
 * the host link at the boot rate and at 2 Mbaud (a rate switch), large
 * MEM_WRITEs through the receive ring (half and full transfer, character
 * match on every frame's end), characters with framing and noise errors,
 * frames cut short and pauses (IDLE), garbage, and bytes from USART1's peer.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../driver/protocol/index.ts';
import { Semihosting } from '../core/semihosting.ts';
import type { PeripheralMode } from '../stm32g071/chip.ts';
import { firstDifference, type PeripheralTrace, tracePeripherals } from './test-support/peripheral-trace.ts';
import { VirtualBoard } from './virtual-board.ts';

const ELF = fileURLToPath(new URL('../../firmware-bridge/build/bridge.elf', import.meta.url));
const PROGRAMS = fileURLToPath(new URL('../test-programs/', import.meta.url));
const SLICE_NS = 250_000;
const FAST = 2_000_000;

interface Run {
  trace: PeripheralTrace;
  /** What the traffic saw from outside (a debugger's reads). */
  seen: string[];
  strict: string[];
  end: string;
  sram: Uint8Array;
  output: string;
  bulk: { takeOvers: number; steps: number } | undefined;
}

interface Setup {
  firmware: Uint8Array;
  untilNs: number;
  traffic: (vb: VirtualBoard, seen: string[]) => void;
  /** The peer's rate (default: the board's, whatever it is). */
  peerBaudRate?: number;
}

/** Runs a firmware up to a time or its exit, recording it; SRAM checked at every slice's end. */
function run(mode: PeripheralMode, setup: Setup): Run {
  let output = '';
  const vb = new VirtualBoard({
    firmware: setup.firmware,
    usart1: 'peer',
    peerBaudRate: setup.peerBaudRate ?? 'follow-board',
    sramSeed: 11,
    peripheralMode: mode,
    semihosting: new Semihosting({ onOutput: (text) => (output += text) }),
  });
  const trace = tracePeripherals(vb);
  const seen: string[] = [];
  setup.traffic(vb, seen);
  const { chip } = vb;
  let slice = 0;
  while (chip.clock.nowNs < setup.untilNs) {
    const result = chip.cpu.run(Math.min(SLICE_NS, setup.untilNs - chip.clock.nowNs));
    trace.checkSram(`slice ${slice++} at ${chip.clock.nowNs}`);
    if (result.reason !== 'time' && result.reason !== 'idle') break;
  }
  const cpu = chip.cpu;
  return {
    trace,
    seen,
    strict: trace.takeStrictReports(),
    end: JSON.stringify({ r: [...cpu.r], pc: cpu.pc, cycles: cpu.cycles }),
    sram: trace.sramCopy(),
    output,
    bulk: chip.bulk ? { takeOvers: chip.bulk.stats.takeOvers, steps: chip.bulk.stats.steps } : undefined,
  };
}

function expectSame(bulk: Run, reference: Run): void {
  expect(firstDifference(bulk.trace.registers, reference.trace.registers)).toBeUndefined();
  expect(firstDifference(bulk.trace.interrupts, reference.trace.interrupts)).toBeUndefined();
  expect(firstDifference(bulk.trace.usart2, reference.trace.usart2)).toBeUndefined();
  expect(firstDifference(bulk.trace.usart1, reference.trace.usart1)).toBeUndefined();
  expect(firstDifference(bulk.trace.sram, reference.trace.sram)).toBeUndefined();
  expect(bulk.strict).toEqual(reference.strict);
  expect(bulk.seen).toEqual(reference.seen);
  expect(bulk.end).toBe(reference.end);
  expect(bulk.output).toBe(reference.output);
  expect(Buffer.from(bulk.sram).equals(Buffer.from(reference.sram))).toBe(true);
}

/** Puts `bytes` on USART2's RX wire at `atNs`, each with `options`. */
function hostSends(vb: VirtualBoard, atNs: number, bytes: Uint8Array, options = {}): void {
  vb.chip.clock.schedule(atNs - vb.chip.clock.nowNs, () => {
    for (const b of bytes) vb.chip.usart2.receive(b, options);
  });
}

const request = (m: Parameters<typeof encodeMessage>[0]) => encodeMessage(m);

/** Boot-rate traffic with errors and pauses, a switch to 2 Mbaud, then large writes into RAM. */
function linkTraffic(arena: number) {
  return (vb: VirtualBoard) => {
    hostSends(vb, 4e6, request({ kind: 'request', command: 'hello', seq: 1 }));
    hostSends(
      vb,
      6e6,
      Uint8Array.from([
        ...request({ kind: 'request', command: 'ping', seq: 2, data: new Uint8Array(40).fill(2) }),
        ...request({ kind: 'request', command: 'ping', seq: 3, data: new Uint8Array(40).fill(3) }),
        0x11,
        0x22,
        0x00,
      ]),
    );
    // Characters with errors (the USART2 interrupt counts them), then a frame cut short: IDLE.
    hostSends(vb, 14e6, Uint8Array.of(0x55), { framingError: true });
    hostSends(vb, 14.2e6, Uint8Array.of(0x00), { noise: true });
    hostSends(vb, 15e6, Uint8Array.of(0x01, 0x02, 0x03));
    // A host at another rate for a moment: what USART2 samples of its waveform (and a strict report).
    hostSends(vb, 15.4e6, Uint8Array.of(0x41, 0x42, 0x43, 0x44), { senderBitNs: 1e9 / 57_600 });
    // A delimiter ends the cut-short frame first.
    hostSends(
      vb,
      16e6,
      Uint8Array.of(
        0,
        ...request({ kind: 'request', command: 'ping', seq: 4, data: new Uint8Array(8).fill(4) }),
      ),
    );
    vb.chip.clock.schedule(17e6, () => vb.peer.inject([0x55, 0xaa, 0x00, 0x7e]));
    // The link at 2 Mbaud: the reply leaves at the boot rate, then the firmware switches.
    hostSends(vb, 18e6, request({ kind: 'request', command: 'set-link-baud', seq: 5, baud: FAST }));
    let seq = 6;
    for (let i = 0; i < 12; i++) {
      const data = new Uint8Array(1000).map((_, j) => (j * 7 + i) & 0xff);
      hostSends(
        vb,
        30e6 + i * 5.5e6,
        request({ kind: 'request', command: 'mem-write', seq: seq++, address: arena + 1000 * (i % 4), data }),
      );
    }
    // Back to back at 2 Mbaud: several frames in the ring at once, wrapping it.
    const burst: number[] = [];
    for (let i = 0; i < 6; i++)
      burst.push(
        ...request({
          kind: 'request',
          command: 'mem-write',
          seq: seq++,
          address: arena + 700 * i,
          data: new Uint8Array(700).fill(i + 1),
        }),
      );
    hostSends(vb, 100e6, Uint8Array.from(burst));
    hostSends(
      vb,
      125e6,
      request({ kind: 'request', command: 'mem-read', seq: seq++, address: arena, length: 600 }),
    );
    hostSends(vb, 128e6, Uint8Array.of(0x42, 0x43), { framingError: true });
    hostSends(vb, 130e6, request({ kind: 'request', command: 'board-status', seq: seq++ }));
  };
}

describe.skipIf(!existsSync(ELF))('the bulk peripherals against the per-character ones', () => {
  it('give the bridge firmware the same registers, interrupts, wires and memory under host traffic', () => {
    // In the firmware's arena (HELLO tells where: 0x20001000, 22 KiB).
    const arena = 0x2000_2000;
    const setup = {
      firmware: new Uint8Array(readFileSync(ELF)),
      untilNs: 140e6,
      traffic: linkTraffic(arena),
      peerBaudRate: 115_200,
    };
    const reference = run('per-character', setup);
    const bulk = run('bulk', setup);
    expect(reference.trace.registers.length).toBeGreaterThan(1000);
    expect(reference.trace.usart2.length).toBeGreaterThan(100);
    expect(reference.strict.join('\n')).toMatch(/baud-mismatch USART2 RX/);
    expectSame(bulk, reference);
    // The bulk path ran most of it.
    expect(bulk.bulk!.steps).toBeGreaterThan(30_000);
  });
});

/** The host link and USART1's peer sending all along: lines ending in '\n' (character match), pauses (IDLE), errors. */
function cornerTraffic(vb: VirtualBoard): void {
  for (let i = 0; i < 40; i++) {
    const line = Uint8Array.from({ length: 30 + (i % 7) * 5 }, (_, j) => (j * 11 + i) & 0x7f || 1);
    line[line.length - 1] = 0x0a;
    hostSends(vb, 1e6 + i * 1.3e6, line);
    if (i % 5 === 2) hostSends(vb, 1.9e6 + i * 1.3e6, Uint8Array.of(0x0a), { framingError: true });
    if (i % 7 === 3) hostSends(vb, 2.1e6 + i * 1.3e6, Uint8Array.of(0x33), { noise: true });
    vb.chip.clock.schedule(0.5e6 + i * 0.9e6, () => {
      vb.peer.inject(
        Uint8Array.from({ length: 12 + (i % 4) * 9 }, (_, j) => (j === 6 ? 0x0a : (j + i) | 0x40)),
      );
      if (i % 6 === 1) vb.peer.injectError('framing', 0x0a);
      if (i % 9 === 4) vb.peer.injectError('noise', 0x21);
    });
  }
}

/** Besides the traffic, things done to the board from outside while it runs. */
function cornerTrafficAndMore(vb: VirtualBoard, seen: string[]): void {
  cornerTraffic(vb);
  const { clock } = vb.chip;
  // A debugger reading all of SRAM now and then, the receive rings included, as they fill.
  for (let t = 1.37e6; t < 24e6; t += 1.91e6)
    clock.schedule(t, () => {
      let sum = 0;
      for (let a = 0x2000_0000; a < 0x2000_9000; a += 4)
        sum = (Math.imul(sum, 31) + vb.chip.bus.peek(a, 4)) >>> 0;
      seen.push(`${clock.nowNs} ${sum}`);
    });
  // USART1 looped back for a while (each character's start then seen at once), and back to the peer.
  clock.schedule(7e6, () => vb.setUsart1Wiring('loopback'));
  clock.schedule(9e6, () => vb.setUsart1Wiring('peer'));
  // A debugger watching every bus access for a while (as a watchpoint does), then gone.
  let accesses = 0;
  clock.schedule(11e6, () => vb.chip.bus.setObserver(() => accesses++));
  clock.schedule(13e6, () => {
    vb.chip.bus.setObserver(null);
    seen.push(`${clock.nowNs} ${accesses} bus accesses`);
  });
}

describe('the bulk peripherals against the per-character ones on a program made for their corner cases', () => {
  it('give it the same registers, interrupts, wires and memory', () => {
    execFileSync('make', ['-C', PROGRAMS, '--no-print-directory', '-s'], { stdio: 'pipe' });
    const setup = {
      firmware: new Uint8Array(readFileSync(`${PROGRAMS}build/dma-usart-Os.elf`)),
      untilNs: 60e6,
      traffic: cornerTrafficAndMore,
    };
    const reference = run('per-character', setup);
    const bulk = run('bulk', setup);
    expect(reference.strict.join('\n')).toMatch(/pin-not-routed USART1 TX/);
    expect(reference.output).toMatch(
      /^dma-usart: \d+ notes, [1-9]\d* matches, [1-9]\d* idles, [1-9]\d* errors/,
    );
    expectSame(bulk, reference);
    expect(bulk.bulk!.steps).toBeGreaterThan(3_000);
  });
});
