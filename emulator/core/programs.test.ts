import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from './machine.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROGRAMS = fileURLToPath(new URL('../test-programs/', import.meta.url));
const BUILD = `${PROGRAMS}build/`;
const CLI = fileURLToPath(new URL('../cli/run-elf.ts', import.meta.url));

const EXPECTED: ReadonlyArray<readonly [program: string, code: number, output: string]> = [
  ['arith', 0, 'arith: ok\n'],
  ['memory', 0, 'fib(20)=6765 -42 beef fri\nmemory: ok\n'],
  ['irq', 0, 'irq: ok\n'],
  ['fault', 0, 'fault: caught HardFault\n'],
  ['exit3', 3, 'exit3: leaving with 3\n'],
];

beforeAll(() => {
  try {
    execFileSync('make', ['-C', PROGRAMS, '--no-print-directory', '-s'], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(
      `building the test programs failed; they need make and Debian's gcc-arm-none-eabi and libnewlib-arm-none-eabi.\n${err.stderr?.toString() ?? err.message}`,
    );
  }
}, 120_000);

describe('C test programs on the machine', () => {
  for (const [name, code, output] of EXPECTED) {
    for (const opt of ['O0', 'Os']) {
      it(`${name} (-${opt}) exits with ${code}`, () => {
        let out = '';
        const m = new Machine({ onOutput: (text) => (out += text) });
        m.loadElf(readFileSync(`${BUILD}${name}-${opt}.elf`));
        const res = m.run(5e9);
        expect({ res, out, fault: m.cpu.lastFault }).toEqual({
          res: { reason: 'exit', code },
          out: output,
          fault: name === 'fault' ? expect.stringMatching(/unaligned/) : null,
        });
      });
    }
  }
});

describe('run-elf CLI', () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it("exits with the program's exit code and prints its output", () => {
    const r = run(`${BUILD}exit3-Os.elf`);
    expect(r.stdout).toBe('exit3: leaving with 3\n');
    expect(r.status).toBe(3);
    expect(run(`${BUILD}arith-O0.elf`).status).toBe(0);
  });

  it('exits with 2 and one line for a missing file', () => {
    const r = run(`${BUILD}no-such.elf`);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^run-elf: cannot read .*ENOENT$/);
  });

  it('exits with 2 for a file that is not ELF', () => {
    const r = run(`${PROGRAMS}Makefile`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not an ELF file/);
  });

  it('exits with 2 on timeout', () => {
    // irq waits for ten 1 ms SysTicks.
    const r = run(`${BUILD}irq-Os.elf`, '--max-seconds', '0.002');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/timeout/);
  });
});
