/**
 * Emulated MIPS on a busy loop (ALU, loads, stores, a taken branch), and how
 * the emulated time compares with real time at 64 MHz, both on CPU time
 * (process.cpuUsage), so a busy machine does not colour them.
 *
 *   tsx scripts/bench-emulator.ts [--seconds N]
 */
import { FLASH_BASE, Machine, SRAM_BASE } from '../emulator/core/machine.ts';

const args = process.argv.slice(2);
const secondsArg = args.indexOf('--seconds');
const seconds = secondsArg >= 0 ? Number(args[secondsArg + 1]) : 3;

// loop: adds r1, r1, r0; ldr r2, [r3]; str r1, [r3, #4]; eors r2, r1; lsls r4, r2, #3;
//       ldrb r5, [r3, #1]; subs r0, #1; bne loop; then bkpt.
const LOOP = [0x1809, 0x681a, 0x6059, 0x404a, 0x00d4, 0x785d, 0x3801, 0xd1f7, 0xbe00];
const INSTRUCTIONS_PER_ITERATION = 8;
const CODE = FLASH_BASE + 0x100;

const m = new Machine({ frequencyHz: 64_000_000 });
const image = new Uint8Array(CODE - FLASH_BASE + LOOP.length * 2);
const view = new DataView(image.buffer);
view.setUint32(0, SRAM_BASE + 0x8000, true);
view.setUint32(4, CODE | 1, true);
for (const [i, h] of LOOP.entries()) view.setUint16(CODE - FLASH_BASE + 2 * i, h, true);
m.bus.load(FLASH_BASE, image);
m.reset();
const cpu = m.cpu;
const START = 0x7fffffff;
cpu.r[0] = START;
cpu.r[3] = SRAM_BASE;

// Warm up, then measure.
cpu.run(50e6);
const iterationsBefore = START - cpu.r[0]!;
const nsBefore = cpu.nowNs;
const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};
const t0 = process.cpuUsage();
let elapsed = 0;
while (elapsed < seconds * 1000) {
  const res = cpu.run(10e6);
  if (res.reason !== 'time') throw new Error(`benchmark stopped: ${JSON.stringify(res)}`);
  elapsed = cpuMs(t0);
}
const iterations = START - cpu.r[0]! - iterationsBefore;
const mips = (iterations * INSTRUCTIONS_PER_ITERATION) / (elapsed * 1000);
const realTime = (cpu.nowNs - nsBefore) / (elapsed * 1e6);
console.log(
  `emulator: ${mips.toFixed(1)} MIPS (busy loop, ${(mips / 64).toFixed(2)}x a 64 MHz Cortex-M0+); ` +
    `virtual time runs ${realTime.toFixed(2)}x real time at 64 MHz`,
);
