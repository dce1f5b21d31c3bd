/**
 * Link throughput: round trips per second (one request at a time) and
 * register operations per second, pipelined one per request and batched
 * 64 per request.
 *
 * On the virtual board running the real firmware (when
 * firmware-bridge/build/bridge.elf exists) the figures are in virtual time:
 * what a real board at 115200 baud would do. Against the in-memory fake
 * board they are wall time: the driver's own cost, no line rate.
 *   npx tsx scripts/bench-link.ts
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Board } from '../driver/board/index.ts';
import { FakeBoard } from '../driver/test-support/fake-board.ts';
import { createMemoryTransportPair } from '../driver/transport/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { virtualTimers } from '../test/support/virtual-timers.ts';

const CMAR2 = 0x4002_0028;
const ELF = fileURLToPath(new URL('../firmware-bridge/build/bridge.elf', import.meta.url));

interface Figures {
  roundTrips: number;
  pipelined: number;
  batched: number;
}

async function measure(board: Board, now: () => number, scale: number): Promise<Figures> {
  const rate = async (ops: number, run: () => Promise<void>) => {
    const t0 = now();
    await run();
    return ops / ((now() - t0) / 1000);
  };
  const trips = 500 * scale;
  const roundTrips = await rate(trips, async () => {
    for (let i = 0; i < trips; i++) await board.ping();
  });
  const reads = 2000 * scale;
  const pipelined = await rate(reads, async () => {
    const all: Promise<number>[] = [];
    for (let i = 0; i < reads; i++) all.push(board.readRegister(CMAR2));
    await Promise.all(all);
  });
  const batches = 40 * scale;
  const batched = await rate(batches * 64, async () => {
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < batches; i++) {
      all.push(
        board.raw.batch((b) => {
          for (let k = 0; k < 64; k++) b.read(CMAR2);
        }),
      );
    }
    await Promise.all(all);
  });
  return { roundTrips, pipelined, batched };
}

function report(where: string, f: Figures): void {
  console.log(
    `link (${where}): ${f.roundTrips.toFixed(0)} round trips/s; register reads ${f.pipelined.toFixed(0)}/s ` +
      `one per request (pipelined), ${f.batched.toFixed(0)}/s batched 64 per request`,
  );
}

async function onVirtualBoard(): Promise<void> {
  const vb = new VirtualBoard({ firmware: new Uint8Array(readFileSync(ELF)), usart1: 'peer' });
  vb.start();
  const timers = virtualTimers(vb);
  const board = await Board.open(vb.hostPort(), { timers });
  const f = await measure(board, () => timers.now(), 1);
  report(`virtual board, real firmware, ${board.hello.linkBaud} baud, virtual time`, f);
  await board.close();
  await vb.dispose();
}

async function onFakeBoard(): Promise<void> {
  const { host, device } = createMemoryTransportPair();
  new FakeBoard(device);
  const board = await Board.open(host);
  await measure(board, () => performance.now(), 1); // warm up the JIT
  const f = await measure(board, () => performance.now(), 4);
  report('in-memory fake board, wall time', f);
  await board.close();
}

if (existsSync(ELF)) await onVirtualBoard();
else console.log(`link (virtual board): skipped, ${ELF} is missing (make -C firmware-bridge)`);
await onFakeBoard();
