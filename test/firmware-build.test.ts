/**
 * The firmware build's own checks, run on the image the build made.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FW = fileURLToPath(new URL('../firmware-bridge/', import.meta.url));
const ELF = join(FW, 'build/bridge.elf');
const CHECK = join(FW, 'tools/stack-check.mjs');

function stackCheck(linker: string): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, [CHECK, ELF, linker], { encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

describe('the worst-case stack check', () => {
  it('passes the firmware with its reserved stack, and prints the margin and the paths', () => {
    const { code, out } = stackCheck(join(FW, 'linker.ld'));
    expect(code).toBe(0);
    expect(out).toMatch(/^stack: worst case (\d+) of 768 bytes, margin (\d+)$/m);
    expect(out).toMatch(/thread \d+ B \(Reset_Handler > /);
    expect(out).toMatch(/priority 0: \d+ \+ 32 B \(USART2_IRQHandler/);
  });

  it('fails the build when the reserved stack is smaller than the worst case', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-check-'));
    const small = join(dir, 'linker.ld');
    writeFileSync(
      small,
      readFileSync(join(FW, 'linker.ld'), 'utf8').replace(/STACK_SIZE = \d+;/, 'STACK_SIZE = 256;'),
    );
    const { code, out } = stackCheck(small);
    expect(code).toBe(1);
    expect(out).toMatch(/stack-check: the worst case needs \d+ bytes more than STACK_SIZE/);
  });
});
