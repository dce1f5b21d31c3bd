/**
 * Run an ARM ELF on the generic Cortex-M0+ machine, with semihosting output
 * on stdout/stderr, and exit with the program's exit code.
 *
 *   tsx emulator/cli/run-elf.ts program.elf [--max-seconds N] [--mhz F]
 *       [--gdb PORT] [--trace FILE.vcd] [--trace-signals LIST]
 *
 * --max-seconds bounds virtual time (default 10). Exit status 2, with one
 * line on stderr, for a missing or invalid file, a lockup, a breakpoint, a
 * program asleep with nothing to wake it, or the time limit.
 * --gdb serves a GDB stub on 127.0.0.1:PORT and waits, halted at the reset
 * vector, for GDB to continue (`target remote :PORT`); a BKPT then stops in
 * GDB rather than ending the run. --trace records the core's interrupt
 * lines and handlers as VCD (--trace-signals: comma-separated patterns).
 */
import { readFileSync } from 'node:fs';
import type { RunResult } from '../core/cpu.ts';
import { ElfError } from '../core/elf.ts';
import { Machine } from '../core/machine.ts';
import { MachineRunner } from '../debug/machine-runner.ts';
import { serveDebugHost } from '../debug/serve-gdb.ts';
import { traceCoreToFile } from '../debug/trace/trace-file.ts';

function fail(message: string): never {
  process.stderr.write(`run-elf: ${message}\n`);
  process.exit(2);
}

interface Args {
  file: string;
  maxSeconds: number;
  mhz: number;
  gdb: number | undefined;
  trace: string | undefined;
  traceSignals: string[] | undefined;
}

const USAGE =
  'usage: run-elf program.elf [--max-seconds N] [--mhz F] [--gdb PORT] [--trace FILE.vcd] [--trace-signals LIST]';

function parseArgs(argv: readonly string[]): Args {
  let file: string | undefined;
  let maxSeconds = 10;
  let mhz = 16;
  let gdb: number | undefined;
  let trace: string | undefined;
  let traceSignals: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const number = (): number => {
      const v = Number(argv[++i]);
      if (!(v > 0) || !Number.isFinite(v)) fail(`${a} needs a positive number`);
      return v;
    };
    const text = (): string => {
      const v = argv[++i];
      if (v === undefined || v === '') fail(`${a} needs a value`);
      return v;
    };
    if (a === '--max-seconds') maxSeconds = number();
    else if (a === '--mhz') mhz = number();
    else if (a === '--gdb') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0 || v > 65535)
        fail('--gdb needs a TCP port number (0: any free port)');
      gdb = v;
    } else if (a === '--trace') trace = text();
    else if (a === '--trace-signals') traceSignals = text().split(',');
    else if (a.startsWith('-')) fail(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else fail(`unexpected argument ${a}`);
  }
  if (file === undefined) fail(USAGE);
  return { file, maxSeconds, mhz, gdb, trace, traceSignals };
}

const { file, maxSeconds, mhz, gdb, trace, traceSignals } = parseArgs(process.argv.slice(2));

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

const runner = new MachineRunner(machine, { limitNs: maxSeconds * 1e9 });
let traceRun: { stop(): void } | undefined;
if (trace !== undefined) {
  try {
    traceRun = traceCoreToFile(machine.cpu, trace, traceSignals ? { signals: traceSignals } : {});
  } catch (e) {
    fail(`--trace: ${(e as Error).message}`);
  }
}
let server: Awaited<ReturnType<typeof serveDebugHost>> | undefined;
if (gdb !== undefined) {
  // Halted at the reset vector until GDB says continue.
  runner.hold();
  server = await serveDebugHost(runner, gdb).catch((e: Error) => fail(`--gdb: ${e.message}`));
  process.stderr.write(
    `run-elf: waiting for GDB on 127.0.0.1:${server.port} (target remote :${server.port})\n`,
  );
}
const result: RunResult = await runner.run();
traceRun?.stop();
await server?.close();

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
