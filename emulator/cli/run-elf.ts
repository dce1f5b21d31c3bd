/**
 * Run an ARM ELF on the generic Cortex-M0+ machine, with semihosting output
 * on stdout/stderr, and exit with the program's exit code.
 *
 *   tsx emulator/cli/run-elf.ts program.elf [--max-seconds N] [--mhz F]
 *
 * --max-seconds bounds virtual time (default 10). Exit status 2, with one
 * line on stderr, for a missing or invalid file, a lockup, a breakpoint, a
 * program asleep with nothing to wake it, or the time limit.
 */
import { readFileSync } from 'node:fs';
import { ElfError } from '../core/elf.ts';
import { Machine } from '../core/machine.ts';

function fail(message: string): never {
  process.stderr.write(`run-elf: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): { file: string; maxSeconds: number; mhz: number } {
  let file: string | undefined;
  let maxSeconds = 10;
  let mhz = 16;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const number = (): number => {
      const v = Number(argv[++i]);
      if (!(v > 0) || !Number.isFinite(v)) fail(`${a} needs a positive number`);
      return v;
    };
    if (a === '--max-seconds') maxSeconds = number();
    else if (a === '--mhz') mhz = number();
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else fail(`unexpected argument ${a}`);
  }
  if (file === undefined) fail('usage: run-elf program.elf [--max-seconds N] [--mhz F]');
  return { file, maxSeconds, mhz };
}

const { file, maxSeconds, mhz } = parseArgs(process.argv.slice(2));

let bytes: Uint8Array;
try {
  bytes = readFileSync(file);
} catch (e) {
  fail(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
}

const machine = new Machine({
  frequencyHz: mhz * 1e6,
  onOutput: (text, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(text),
});
try {
  machine.loadElf(bytes);
} catch (e) {
  if (e instanceof ElfError || e instanceof RangeError) fail(`${file}: ${e.message}`);
  throw e;
}

const limitNs = maxSeconds * 1e9;
const SLICE_NS = 10e6;
let result = machine.run(Math.min(SLICE_NS, limitNs));
while (result.reason === 'time' && machine.cpu.nowNs < limitNs) {
  result = machine.run(Math.min(SLICE_NS, limitNs - machine.cpu.nowNs));
}

const pc = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
switch (result.reason) {
  case 'exit':
    process.exitCode = result.code & 0xff;
    break;
  case 'lockup':
    fail(`lockup at ${pc(result.pc)}: ${result.fault}`);
    break;
  case 'breakpoint':
    fail(`breakpoint (BKPT ${result.imm}) at ${pc(result.pc)}`);
    break;
  case 'idle':
    fail(`the program sleeps with nothing to wake it (pc ${pc(machine.cpu.pc)})`);
    break;
  default:
    fail(`timeout: no exit within ${maxSeconds} s of virtual time (pc ${pc(machine.cpu.pc)})`);
}
