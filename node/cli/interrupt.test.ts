/**
 * Ctrl-C, the one rule for every long-running command: the command stops
 * what it started on the board, says on stderr what went through, exits
 * 130, and with --json prints one JSON object marked interrupted. The
 * board lives in this test's process, served on TCP as `dma-bridge
 * virtual` serves it, and the CLI runs as a child process with --port: what
 * the CLI claims is checked against the board itself (its DMA registers,
 * what its USART1 peer received), not against the CLI's word.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { DMA } from '../../emulator/stm32g071/dma.ts';
import { DEFAULT_FIRMWARE, loadVirtualBoard } from '../virtual/load-board.ts';
import { VirtualServer } from '../virtual-server.ts';

const BIN = fileURLToPath(new URL('../bin/dma-bridge.js', import.meta.url));
const haveFirmware = existsSync(DEFAULT_FIRMWARE);

let board: VirtualBoard;
let server: VirtualServer;
let port: string;
const children: ChildProcess[] = [];
/** Set by the readiness checks below, which act on the board once the CLI is ready. */
let injected = false;
let monitorInjected = false;
let benchSeen = 0;

beforeAll(async () => {
  if (!haveFirmware) return;
  // Served to another process, whose deadlines are in real time.
  board = await loadVirtualBoard({ pace: 'realtime' });
  server = await VirtualServer.start(board, { log: () => {} });
  port = server.addresses.tcp;
});

afterAll(async () => {
  await server?.close();
  await board?.dispose();
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

interface Interrupted {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line.length > 0);
}

function until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() - started > ms) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

/** Runs the CLI against the served board; once `ready()` holds, sends SIGINT. */
async function interrupt(args: string[], ready: (stderr: string) => boolean): Promise<Interrupted> {
  const child = spawn(process.execPath, [BIN, ...args, '--port', port], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until(() => gone || ready(stderr), `the CLI to be ready: ${stderr}`);
  if (gone) throw new Error(`the CLI exited early: ${stderr}`);
  child.kill('SIGINT');
  const code = await exited;
  return { code, stdout, stderr };
}

/** DMA1 channels 1 and 2, as the board's registers say: enabled or not. */
function channelsEnabled(): boolean[] {
  return [1, 2].map((n) => (board.chip.dma1.read(DMA.CCR(n), 4) & 1) === 1);
}

const peerBytes = (): number => board.peer.received().length;

describe.skipIf(!haveFirmware)('Ctrl-C against a board outside the CLI process', () => {
  it('write --file /dev/zero --json: the board stopped the DMA, and the count is what its peer received', async () => {
    const before = peerBytes();
    const { code, stdout, stderr } = await interrupt(
      ['write', '--file', '/dev/zero', '--chunk-size', '256', '--json'],
      () => peerBytes() - before > 600,
    );
    expect(code).toBe(130);
    expect(stderr).not.toMatch(/Warning/);
    const last = lines(stderr).at(-1) ?? '';
    const m =
      /^dma-bridge: interrupted: the board stopped the DMA after (\d+) of (\d+) read bytes had gone out \(DMA1 channels 1 and 2 read back off\)$/.exec(
        last,
      );
    expect(m, last).not.toBeNull();
    const sent = Number(m![1]);
    expect(channelsEnabled()).toEqual([false, false]);
    // The last characters leave the USART after the DMA stopped; then the peer has exactly the count.
    await until(() => peerBytes() - before >= sent, 'the last characters on the wire', 2000);
    await new Promise((r) => setTimeout(r, 50));
    expect(peerBytes() - before).toBe(sent);
    const json = lines(stdout);
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0]!)).toMatchObject({ interrupted: true, bytes: sent, board: port });
  });

  it('read: what arrived, the board stopped the DMA, exit 130', async () => {
    const { code, stdout, stderr } = await interrupt(['read', '1000', '--timeout', '60s'], (err) => {
      if (!/receiving 1000 bytes/.test(err)) return false;
      // Ten bytes from the peer once reception has started; ready once the DMA has moved them.
      if (!injected) {
        board.peer.inject(new TextEncoder().encode('0123456789'));
        injected = true;
      }
      return [1, 2].some((n) => board.chip.dma1.read(DMA.CNDTR(n), 4) === 990);
    });
    expect(code).toBe(130);
    expect(lines(stderr).at(-1)).toBe(
      'dma-bridge: interrupted: the board stopped the DMA after 10 of 1000 bytes had arrived (DMA1 channels 1 and 2 read back off)',
    );
    expect(stdout).toMatch(/\|0123456789\|/);
    expect(channelsEnabled()).toEqual([false, false]);
  });

  it('bench --reads 1000000 --json: stops within the pipelined reads, with what it measured, and no listener warning', async () => {
    const { code, stdout, stderr } = await interrupt(
      ['bench', '--round-trips', '1', '--reads', '1000000', '--json'],
      (err) => {
        if (!/measuring on/.test(err)) return false;
        if (benchSeen === 0) benchSeen = Date.now();
        return Date.now() - benchSeen > 1500;
      },
    );
    expect(code).toBe(130);
    expect(stderr).not.toMatch(/MaxListenersExceededWarning|Warning/);
    expect(lines(stderr).at(-1)).toMatch(
      /^dma-bridge: interrupted: measured roundTrips 1 ops, .*; pipelinedReads \d+ ops, /,
    );
    const json = lines(stdout);
    expect(json).toHaveLength(1);
    const result = JSON.parse(json[0]!);
    expect(result).toMatchObject({ interrupted: true, roundTrips: { ops: 1 } });
    expect(result.pipelinedReads.ops).toBeGreaterThan(0);
    expect(result.pipelinedReads.ops).toBeLessThan(1_000_000);
  });

  it('monitor --json: the bytes of the unfinished half, then one object marked interrupted', async () => {
    const { code, stdout, stderr } = await interrupt(['monitor', '--json'], (err) => {
      if (!/until Ctrl-C/.test(err)) return false;
      if (!monitorInjected) {
        board.peer.inject(new TextEncoder().encode('partial'));
        monitorInjected = true;
      }
      return [1, 2].some((n) => board.chip.dma1.read(DMA.CNDTR(n), 4) === 256 - 7);
    });
    expect(code).toBe(130);
    const objects = lines(stdout).map((line) => JSON.parse(line));
    expect(objects).toEqual([
      { offset: 0, length: 7, hex: Buffer.from('partial').toString('hex'), text: 'partial' },
      expect.objectContaining({ interrupted: true, halves: 0, bytes: 7 }),
    ]);
    expect(lines(stderr).at(-1)).toBe(
      'dma-bridge: interrupted: the board stopped the DMA; received 0 halves and 7 bytes of the next (7 bytes)',
    );
    expect(channelsEnabled()).toEqual([false, false]);
  });
});
