/**
 * `dma-bridge virtual --gdb PORT --trace FILE`, in process: the stub answers
 * GDB's packets on its port while the board serves, and the trace file,
 * from power-on, holds LD4 lighting up and the main loop feeding the
 * watchdog.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePacket } from '../../emulator/debug/gdb/packet-codec.ts';
import { parseVcd } from '../../emulator/debug/trace/vcd-parser.ts';
import { FIRMWARE_ELF } from '../../test/support/firmware.ts';
import type { CliIo } from './io.ts';
import { runCli } from './run-cli.ts';

/** Sends packets one at a time; resolves with everything received once `until` matches. */
function gdbExchange(port: number, steps: { send: string; until: RegExp }[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const replies: string[] = [];
    let buffer = '';
    let i = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${steps[i]?.send}: ${buffer}`));
    }, 10_000);
    socket.on('connect', () => socket.write(steps[0]!.send));
    socket.on('data', (data) => {
      buffer += data.toString('latin1');
      if (!steps[i]!.until.test(buffer)) return;
      replies.push(buffer);
      buffer = '';
      i++;
      if (i < steps.length) socket.write(steps[i]!.send);
      else {
        clearTimeout(timer);
        socket.end();
        resolve(replies);
      }
    });
    socket.on('error', reject);
  });
}

describe('dma-bridge virtual --gdb --trace', () => {
  it('serves GDB beside the board and writes the trace from power-on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dma-bridge-trace-'));
    const file = join(dir, 'board.vcd');
    const lines: string[] = [];
    const stop = new AbortController();
    let ready!: () => void;
    const started = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const io: CliIo = {
      out: (line) => lines.push(line),
      note: (line) => {
        if (line.startsWith('try:')) ready();
      },
      outBytes: async () => {},
      errRaw: () => {},
      stderrIsTty: false,
      stderrColumns: 80,
      interrupted: stop.signal,
    };
    const argv = ['virtual', '--no-pty', '--json', '--firmware', FIRMWARE_ELF, '--gdb', '0'];
    const run = runCli([...argv, '--trace', file, '--trace-signals', 'led.*,iwdg.*'], io);
    try {
      await started;
      const { gdb, trace } = JSON.parse(lines[0]!) as { gdb: string; trace: string };
      expect(trace).toBe(file);
      const port = Number(gdb.split(':')[1]);
      const replies = await gdbExchange(port, [
        { send: encodePacket('?'), until: /\$T02[^#]*#[0-9a-f]{2}/ },
        { send: encodePacket('m8000000,4'), until: /\$[0-9a-f]{8}#/ },
        { send: encodePacket('D'), until: /\$OK#9a/ },
      ]);
      expect(replies[0]).toMatch(/^\+\$T020f:/);
      // The vector table's first word: the initial stack pointer, in SRAM.
      expect(replies[1]).toMatch(/^\+\$[0-9a-f]{6}20#/);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      stop.abort();
    }
    expect(await run).toBe(130);
    const vcd = parseVcd(readFileSync(file, 'utf8'));
    rmSync(dir, { recursive: true });
    const led = vcd.signals.get('led.ld4')!;
    expect(led[0]).toEqual({ timeNs: 0, value: '0' }); // dark at power-on
    expect(led.some((c) => c.value === '1')).toBe(true); // lit once the firmware runs
    expect(vcd.signals.get('iwdg.reload')!.length).toBeGreaterThan(1);
  });
});
