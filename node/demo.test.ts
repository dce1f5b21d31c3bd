/**
 * The demo as users run it (npm run demo): a child process that must walk
 * through every step of the chapter and exit 0, on the in-process virtual
 * board and on a board behind a pty, and fail with one line when the board
 * is not there.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { VirtualBoard } from '../emulator/host/virtual-board.ts';
import { type DemoOptions, runDemo as runDemoInProcess } from './demo/run.ts';
import { DEFAULT_FIRMWARE, loadVirtualBoard } from './virtual/load-board.ts';
import { VirtualServer } from './virtual-server.ts';

const DEMO = fileURLToPath(new URL('./demo.ts', import.meta.url));
const haveFirmware = existsSync(DEFAULT_FIRMWARE);

function runDemo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', DEMO, ...args],
      { timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** The demo run in this process (the process itself is tested once, above all else by the first test). */
async function runDemoHere(options: DemoOptions): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runDemoInProcess(options, {
    out: (line) => {
      stdout += `${line}\n`;
    },
    err: (line) => {
      stderr += `${line}\n`;
    },
  });
  return { code, stdout, stderr };
}

const STEPS = [
  /^1\. HELLO/m,
  /^2\. writeAll: "Hello, world!"/m,
  /^3\. readExact/m,
  /^4\. Ownership/m,
  /^5\. stop\(\)/m,
  /^6\. readCircular/m,
  /^Summary$/m,
];

describe.skipIf(!haveFirmware)('npm run demo', () => {
  it('walks through every step on the in-process virtual board and exits 0', async () => {
    const { code, stdout, stderr } = await runDemo();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const step of STEPS) expect(stdout).toMatch(step);
    expect(stdout).toMatch(/STM32G071 \(device 0x460\), bridge firmware \d+\.\d+\.\d+, protocol v2/);
    expect(stdout).toMatch(
      /the peer received "Hello, world!": first byte at t = [\d.]+ ms, last at t = [\d.]+ ms \(virtual\), one every 8\d\.\d µs = 115200 baud/,
    );
    expect(stdout).toMatch(/the buffer holds "0123456789abcdef"/);
    expect(stdout).toMatch(
      /serial\.write\(0x41\) while the DMA owns USART1 → MovedError: this Serial1 was moved by writeAll\(\)/,
    );
    expect(stdout).toMatch(/stop\(\) → transferred = \d+ of 4096/);
    expect(stdout).toMatch(/half 4 \(buffer bytes 16\.\.31\) at t = [\d.]+ ms: "half 4, lap two\\n"/);
    expect(stdout).toMatch(/6 of 6 steps done in [\d.]+ s/);
  });

  describe('on a board behind a pty, wired PC4 to PC5', () => {
    let vb: VirtualBoard | undefined;
    let server: VirtualServer | undefined;
    afterAll(async () => {
      await server?.close();
      await vb?.dispose();
    });

    it('with --loopback reads back through the jumper; without, skips the reading steps saying why', async () => {
      vb = await loadVirtualBoard({ loopback: true });
      server = await VirtualServer.start(vb, { pty: true, log: () => {} });
      const firstSession = server.ptyGeneration;
      const withJumper = await runDemoHere({ port: server.addresses.pty ?? '', loopback: true });
      expect(withJumper.stderr).toBe('');
      expect(withJumper.code).toBe(0);
      for (const step of STEPS) expect(withJumper.stdout).toMatch(step);
      expect(withJumper.stdout).toMatch(/read back through PC5 \(loopback\): "Hello, world!"/);
      expect(withJumper.stdout).toMatch(/6 of 6 steps done/);

      // socat serves one session per pty: wait for the next one.
      while (server.ptyGeneration === firstSession) await new Promise((r) => setTimeout(r, 10));
      const without = await runDemoHere({ port: server.addresses.pty ?? '', loopback: false });
      expect(without.code).toBe(0);
      expect(without.stdout).toMatch(
        /skipped: nobody the demo can see is on USART1 of a real board: .*--loopback/,
      );
      expect(without.stdout).toMatch(/4 of 6 steps done/);
    });
  });

  it('fails with one line and exit 1 when the board is not there', async () => {
    const { code, stderr } = await runDemoHere({ port: '/dev/ttyDOES-NOT-EXIST', loopback: false });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^demo: connecting failed: cannot open serial port \/dev\/ttyDOES-NOT-EXIST/);
  });
});
