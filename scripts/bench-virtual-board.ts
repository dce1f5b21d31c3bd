/**
 * The virtual board's speed, on CPU time (process.cpuUsage), warm, median of 3:
 *
 * - core: MIPS on one small Thumb program (loads, stores, ALU, a multiply,
 *   a call with push/pop, branches), and the same program, the same number
 *   of rounds, on rp2040js's Cortex-M0+ core run the way its Simulator runs
 *   it (executeInstruction, then the clock ticked by the cycles taken);
 * - bridge streaming: the real firmware on the strict virtual board, the link
 *   negotiated at 2 Mbaud, the stream writer sending 256 KiB out of USART1
 *   (4 Mbaud, so the link is the bottleneck); virtual seconds per CPU second,
 *   with the share of the line rate, bytes lost and strict reports; the
 *   peripherals in bulk (the board's default), then, for comparison, one
 *   character at a time (peripheralMode 'per-character');
 * - idle board: the firmware booted and waiting in its main loop, thirty
 *   virtual seconds; virtual seconds per CPU second.
 *
 *   npx tsx scripts/bench-virtual-board.ts
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Simulator } from 'rp2040js';
import { Serial1 } from '../driver/api/index.ts';
import { Board } from '../driver/board/index.ts';
import { FLASH_BASE, Machine, SRAM_BASE } from '../emulator/core/machine.ts';
import { VirtualBoard } from '../emulator/index.ts';
import type { PeripheralMode } from '../emulator/stm32g071/chip.ts';
import { virtualTimers } from '../node/virtual/virtual-timers.ts';

/**
 * The work program, position independent (it runs from either chip's flash);
 * r0 = rounds, r7 = a 128-byte buffer in SRAM. Each round is 400 instructions.
 *
 *   outer: movs r1, #0; movs r2, #0
 *   inner: ldr r3, [r7, r1]; adds r2, r2, r3; lsls r4, r2, #5; eors r2, r4
 *          lsrs r4, r2, #3; adds r2, r2, r4; str r2, [r7, r1]; ldrb r5, [r7, r1]
 *          muls r5, r2; adds r1, #4; cmp r1, #128; bcc inner        (32 times)
 *          bl mix; subs r0, #1; bne outer; bkpt #0
 *   mix:   push {r4, r5, lr}; movs r4, #7; rors r2, r4; uxtb r5, r2
 *          strh r5, [r7, #2]; ldrh r4, [r7, #2]; cmp r4, r5; beq 1f; bkpt #1
 *   1:     mov r12, r2; add r2, r12; pop {r4, r5, pc}
 */
const WORK = [
  0x2100, 0x2200, 0x587b, 0x18d2, 0x0154, 0x4062, 0x08d4, 0x1912, 0x507a, 0x5c7d, 0x4355, 0x3104, 0x2980,
  0xd3f3, 0xf000, 0xf803, 0x3801, 0xd1ed, 0xbe00, 0xb530, 0x2407, 0x41e2, 0xb2d5, 0x807d, 0x887c, 0x42ac,
  0xd000, 0xbe01, 0x4694, 0x4462, 0xbd30,
];
const INSTRUCTIONS_PER_ROUND = 400;
const ROUNDS = 200_000; // 80 M instructions
const CODE_OFFSET = 0x100;

const ELF = fileURLToPath(new URL('../firmware-bridge/build/bridge.elf', import.meta.url));
const LINK_BAUD = 2_000_000;
const USART1_BAUD = 4_000_000;
const STREAM_BYTES = 256 * 1024;

/** CPU seconds (user + system) that `work` takes. */
function cpuSeconds(work: () => void): number {
  const t0 = process.cpuUsage();
  work();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

async function cpuSecondsAsync(work: () => Promise<void>): Promise<number> {
  const t0 = process.cpuUsage();
  await work();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function workImage(): Uint8Array {
  const image = new Uint8Array(CODE_OFFSET + WORK.length * 2);
  const view = new DataView(image.buffer);
  for (const [i, h] of WORK.entries()) view.setUint16(CODE_OFFSET + 2 * i, h, true);
  return image;
}

/** Our core: CPU seconds for `rounds` rounds of the work program. */
function ourCore(rounds: number): number {
  const m = new Machine({ frequencyHz: 64_000_000 });
  const image = workImage();
  const view = new DataView(image.buffer);
  view.setUint32(0, SRAM_BASE + 0x8000, true);
  view.setUint32(4, (FLASH_BASE + CODE_OFFSET) | 1, true);
  m.bus.load(FLASH_BASE, image);
  m.reset();
  m.cpu.r[0] = rounds;
  m.cpu.r[7] = SRAM_BASE;
  return cpuSeconds(() => {
    const res = m.cpu.run(Number.MAX_SAFE_INTEGER);
    if (res.reason !== 'breakpoint' || res.imm !== 0) throw new Error(`work program: ${JSON.stringify(res)}`);
  });
}

/** rp2040js's core, run as its Simulator runs it: CPU seconds for `rounds` rounds. */
function rp2040Core(rounds: number): number {
  const sim = new Simulator();
  const { rp2040: mcu, clock } = sim;
  mcu.flash.set(workImage());
  const core = mcu.core;
  core.PC = 0x10000000 + CODE_OFFSET;
  core.SP = 0x20040000;
  core.registers[0] = rounds;
  core.registers[7] = 0x20000000;
  let stopped = -1;
  mcu.onBreak = (code) => {
    stopped = code;
  };
  const cycleNanos = 1e9 / 125_000_000;
  return cpuSeconds(() => {
    while (stopped < 0) {
      const cycles = core.executeInstruction();
      clock.tick(cycles * cycleNanos);
    }
    if (stopped !== 0) throw new Error(`work program on rp2040js: breakpoint ${stopped}`);
  });
}

function coreFigures(): { mips: number; ratio: number } {
  // Warm both, then alternate so both see the same machine load.
  ourCore(ROUNDS / 4);
  rp2040Core(ROUNDS / 8);
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < 3; i++) {
    ours.push(ourCore(ROUNDS));
    theirs.push(rp2040Core(ROUNDS / 4));
  }
  const instructions = ROUNDS * INSTRUCTIONS_PER_ROUND;
  const mips = instructions / median(ours) / 1e6;
  const rpMips = instructions / 4 / median(theirs) / 1e6;
  return { mips, ratio: mips / rpMips };
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >> 9) + seed) & 0xff;
  return out;
}

interface StreamFigures {
  realTime: number;
  lineShare: number;
  lost: number;
  strict: number;
}

async function streaming(firmware: Uint8Array, peripheralMode: PeripheralMode): Promise<StreamFigures> {
  const vb = new VirtualBoard({ firmware, usart1: 'peer', peerBaudRate: USART1_BAUD, peripheralMode });
  vb.start();
  const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb), linkBaud: LINK_BAUD });
  if (board.linkRate.baud !== LINK_BAUD) throw new Error(`the link runs at ${board.linkRate.baud}`);
  let serial = await Serial1.take(board, { baudRate: USART1_BAUD });
  const runs: number[] = [];
  let lineShare = 0;
  for (let run = 0; run < 4; run++) {
    const payload = pattern(STREAM_BYTES, run);
    vb.peer.clear();
    const t0 = vb.nowNs;
    const cpu = await cpuSecondsAsync(async () => {
      serial = await serial.streamWriter().pipeFrom(payload);
    });
    const received = vb.peer.received();
    if (received.length !== payload.length || received.some((r, i) => r.byte !== payload[i]))
      throw new Error(
        `streaming: the peer received ${received.length} of ${payload.length} bytes, or others`,
      );
    const virtualSeconds = (vb.nowNs - t0) / 1e9;
    lineShare = payload.length / ((received.at(-1)!.timeNs - t0) / 1e9) / (LINK_BAUD / 10);
    if (run > 0) runs.push(virtualSeconds / cpu); // the first run warms up
  }
  const status = await board.status();
  const stats = board.stats;
  const lost = status.linkRxDropped + status.linkRxErrors + stats.corruptFrames + stats.retransmissions;
  const strict = vb.strictReports.length;
  await board.close();
  await vb.dispose();
  return { realTime: median(runs), lineShare, lost, strict };
}

function idle(firmware: Uint8Array): number {
  const vb = new VirtualBoard({ firmware, usart1: 'peer' });
  vb.runFor(200e6); // boot, clocks up, waiting in the main loop
  for (let i = 0; i < 3; i++) vb.runFor(2e9); // warm
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(30 / cpuSeconds(() => vb.runFor(30e9)));
  void vb.dispose();
  return median(runs);
}

const core = coreFigures();
let stream: StreamFigures | undefined;
let perCharacter: StreamFigures | undefined;
let idleRealTime: number | undefined;
if (existsSync(ELF)) {
  const firmware = new Uint8Array(readFileSync(ELF));
  // Idle first: its few milliseconds of CPU time would otherwise carry the
  // collection of the streaming run's garbage.
  idleRealTime = idle(firmware);
  stream = await streaming(firmware, 'bulk');
  perCharacter = await streaming(firmware, 'per-character');
}
const streamText =
  stream === undefined
    ? 'bridge streaming skipped (make -C firmware-bridge)'
    : `bridge streaming at ${LINK_BAUD} baud ${stream.realTime.toFixed(1)}× real time`;
const idleText = idleRealTime === undefined ? '' : `, idle board ${idleRealTime.toFixed(0)}× real time`;
console.log(
  `virtual board: core ${core.mips.toFixed(0)} MIPS (${core.ratio.toFixed(2)}× rp2040js on the same program), ${streamText}${idleText}`,
);
if (stream !== undefined)
  console.log(
    `    streaming ${STREAM_BYTES / 1024} KiB: ${stream.lineShare.toFixed(3)} of the line rate, ` +
      `${stream.lost} bytes lost, ${stream.strict} strict reports (CPU time, warm, median of 3)`,
  );
if (perCharacter !== undefined)
  console.log(
    `    with the peripherals one character at a time: ${perCharacter.realTime.toFixed(1)}× real time ` +
      `(bulk ${(stream!.realTime / perCharacter.realTime).toFixed(1)}× as fast)`,
  );
