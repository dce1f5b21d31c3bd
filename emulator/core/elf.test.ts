import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ElfError, loadElf, parseElf } from './elf.ts';
import { FLASH_BASE, Machine } from './machine.ts';

const PROGRAMS = fileURLToPath(new URL('../test-programs/', import.meta.url));
let elf: Uint8Array;

beforeAll(() => {
  execFileSync('make', ['-C', PROGRAMS, '--no-print-directory', '-s', 'build/memory-Os.elf'], {
    stdio: 'pipe',
  });
  elf = readFileSync(`${PROGRAMS}build/memory-Os.elf`);
}, 120_000);

function patched(offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(elf); // a copy: Buffer.slice would share memory
  copy[offset] = value;
  return copy;
}

describe('ELF loader', () => {
  it('rejects files that are not 32-bit little-endian ARM executables', () => {
    expect(() => parseElf(new Uint8Array(10))).toThrow(/too short/);
    expect(() => parseElf(patched(0, 0))).toThrow(/bad magic/);
    expect(() => parseElf(patched(4, 2))).toThrow(/not a 32-bit/);
    expect(() => parseElf(patched(5, 2))).toThrow(/not a little-endian/);
    expect(() => parseElf(patched(18, 62))).toThrow(/not an ARM/);
    expect(() => parseElf(patched(16, 1))).toThrow(/not an executable/);
    expect(() => parseElf(elf.subarray(0, 200))).toThrow(ElfError);
  });

  it('returns the entry point and symbols', () => {
    const e = parseElf(elf);
    expect(e.entry).toBe(e.symbol('Reset_Handler'));
    expect(e.symbol('main') & 1).toBe(1); // Thumb functions keep bit 0
    expect(e.symbol('vectors')).toBe(FLASH_BASE);
    expect(() => e.symbol('no_such_symbol')).toThrow(/no symbol/);
  });

  it("places segments by physical address, so .data's image lands in flash", () => {
    const m = new Machine();
    const e = loadElf(elf, m.bus);
    const image = e.symbol('_sidata');
    const runAt = e.symbol('_sdata');
    expect(image >>> 24).toBe(0x08);
    expect(runAt >>> 24).toBe(0x20);
    // `initialised` = {1, -2, 3, "origin"}: find it in the flash image.
    const words = new Int32Array(m.flash.buffer, image - FLASH_BASE, 64);
    const at = words.findIndex((w, i) => w === 1 && words[i + 1] === -2 && words[i + 2] === 3);
    expect(at).toBeGreaterThanOrEqual(0);
    // RAM is left for the startup code to fill.
    expect(m.sram.every((b) => b === 0)).toBe(true);
  });
});
