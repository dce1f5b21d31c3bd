/**
 * A board behind a real OS serial device: HIL_PORT names it (a Nucleo's
 * /dev/ttyACM0, or tcp://host:port for one served by ser2net). Without
 * HIL_PORT, the virtual board is served on a pseudo-terminal through socat,
 * so the same checks run through serialport and the OS tty layer anyway.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Board } from '../../driver/board/board.ts';
import type { VirtualBoard } from '../../emulator/host/virtual-board.ts';
import { openTransport } from '../../node/transport/open-transport.ts';
import { DEFAULT_FIRMWARE, loadVirtualBoard } from '../../node/virtual/load-board.ts';
import { VirtualServer } from '../../node/virtual-server.ts';

const hilPort = process.env.HIL_PORT;
const canServePty = (() => {
  if (!existsSync(DEFAULT_FIRMWARE)) return false;
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hilPort && !canServePty)(`a board on ${hilPort ?? 'a pty (virtual board)'}`, () => {
  let virtualBoard: VirtualBoard | undefined;
  let server: VirtualServer | undefined;
  let port: string;

  beforeAll(async () => {
    if (hilPort) {
      port = hilPort;
      return;
    }
    virtualBoard = await loadVirtualBoard();
    server = await VirtualServer.start(virtualBoard, { pty: true, log: () => {} });
    port = server.addresses.pty ?? '';
  });

  afterAll(async () => {
    await server?.close();
    await virtualBoard?.dispose();
  });

  let sessions = 0;

  /** socat serves one session per pty; wait for the next one before opening it. */
  async function nextPty(): Promise<void> {
    if (!server) return;
    const started = Date.now();
    while (server.ptyGeneration <= sessions) {
      if (Date.now() - started > 5000) throw new Error('the pty did not come back');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    port = server.addresses.pty ?? '';
  }

  async function withBoard<T>(work: (board: Board) => Promise<T>): Promise<T> {
    await nextPty();
    const board = await Board.open(await openTransport(port));
    try {
      return await work(board);
    } finally {
      await board.close();
      sessions++;
    }
  }

  it('answers HELLO as an STM32G071 bridge', async () => {
    await withBoard(async (board) => {
      expect(board.hello.protocolVersion).toBe(1);
      expect(board.hello.devId).toBe(board.chip.devId);
      expect(board.arena.size).toBeGreaterThan(0);
    });
  });

  it('echoes PINGs of every size, in order', async () => {
    await withBoard(async (board) => {
      const sizes = [0, 1, 17, 128, 255];
      const replies = await Promise.all(
        sizes.map((n) => board.ping(Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff))),
      );
      replies.forEach((reply, k) => {
        const n = sizes[k] ?? 0;
        expect([...reply]).toEqual(Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff));
      });
    });
  });

  it('writes and reads back arena memory', async () => {
    await withBoard(async (board) => {
      const bytes = Uint8Array.from({ length: 600 }, (_, i) => (i * 31) & 0xff);
      await board.writeMemory(board.arena.base, bytes);
      expect(await board.readMemory(board.arena.base, bytes.length)).toEqual(bytes);
    });
  });

  it('opens a fresh session after the previous one closed', async () => {
    const epochs: number[] = [];
    for (let i = 0; i < 2; i++) await withBoard(async (board) => epochs.push(board.epoch));
    // Same board, no reset in between: the boot epoch does not change.
    expect(epochs[1]).toBe(epochs[0]);
  });
});
