/**
 * Transfer throughput and start cost, on the virtual board running the real
 * firmware, in virtual time (what a real board would do):
 *
 * (a) the streaming writer and (b) a naive loop of writeAll (write a chunk
 *     into the buffer, writeAll, wait, repeat): bytes delivered on USART1
 *     per virtual second, divided by the host link's data rate (the rate
 *     negotiated, 2 Mbaud: 8N1 carries 200000 bytes/s). USART1 runs faster
 *     than the link, so the link is the bottleneck and 1.0 would mean every
 *     byte of the link's capacity went into USART1 data;
 * (c) the link frames one transfer start costs (requests sent, replies and
 *     events received), counted from the link's statistics.
 *
 *   npx tsx scripts/bench-transfer.ts [totalKiB] [usart1Baud] [chunkSize]
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Serial1 } from '../driver/api/index.ts';
import { Board } from '../driver/board/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { virtualTimers } from '../test/support/virtual-timers.ts';

const ELF = fileURLToPath(new URL('../firmware-bridge/build/bridge.elf', import.meta.url));
// Sustained figures: 256 KiB by default, and never less.
const TOTAL = Math.max(256, Number(process.argv[2] ?? 256)) * 1024;
const USART1_BAUD = Number(process.argv[3] ?? 4_000_000);
const CHUNK = process.argv[4] === undefined ? undefined : Number(process.argv[4]);

if (!existsSync(ELF)) {
  console.log(`bench-transfer: skipped, ${ELF} is missing (make -C firmware-bridge)`);
  process.exit(0);
}

interface Session {
  vb: VirtualBoard;
  board: Board;
  serial: Serial1;
  nowNs: () => number;
  close(): Promise<void>;
}

async function open(): Promise<Session> {
  const vb = new VirtualBoard({
    firmware: new Uint8Array(readFileSync(ELF)),
    usart1: 'peer',
    peerBaudRate: USART1_BAUD,
  });
  vb.start();
  const board = await Board.open(vb.hostPort(), { timers: virtualTimers(vb) });
  const serial = await Serial1.take(board, { baudRate: USART1_BAUD });
  return {
    vb,
    board,
    serial,
    nowNs: () => vb.chip.clock.nowNs,
    async close() {
      await board.close();
      await vb.dispose();
    },
  };
}

function data(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + (i >> 8)) & 0xff;
  return out;
}

/** USART1 bytes per virtual second, from the start of the run to the last byte's stop bit, over the link's data rate. */
function ratio(s: Session, t0Ns: number, expected: Uint8Array): { ratio: number; seconds: number } {
  const received = s.vb.peer.received();
  if (received.length !== expected.length || received.some((r, i) => r.byte !== expected[i])) {
    throw new Error(
      `the peer received ${received.length} bytes, not the ${expected.length} sent, or other bytes`,
    );
  }
  const seconds = (received.at(-1)!.timeNs - t0Ns) / 1e9;
  const linkBytesPerSecond = s.board.hello.linkBaud / 10; // 8N1: ten bits per byte
  return { ratio: expected.length / seconds / linkBytesPerSecond, seconds };
}

async function streamingWriter(): Promise<string> {
  const s = await open();
  const payload = data(TOTAL);
  const t0 = s.nowNs();
  const writer = s.serial.streamWriter(CHUNK === undefined ? {} : { chunkSize: CHUNK });
  await writer.pipeFrom(payload);
  const { ratio: r, seconds } = ratio(s, t0, payload);
  const stats = s.board.stats;
  const chunk = CHUNK ?? 4 * s.board.limits.memWrite;
  await s.close();
  // What bounds the figure: the share of link bytes that are payload (frame
  // headers, addresses, CRC, COBS, one start batch per chunk take the rest),
  // and the last chunk, which goes out on USART1 after its upload with
  // nothing left to overlap it.
  const ceiling = TOTAL / stats.bytesSent;
  const tailSeconds = (chunk * 10) / USART1_BAUD;
  return (
    `(a) streaming writer (${chunk}-byte chunks): ${(TOTAL / 1024).toFixed(0)} KiB in ${seconds.toFixed(2)} s virtual, ` +
    `${r.toFixed(3)} of the link's line rate\n` +
    `      limits: ${stats.bytesSent} link bytes for ${TOTAL} payload bytes (ceiling ${ceiling.toFixed(3)}), ` +
    `last chunk alone on the wire ${(tailSeconds * 1000).toFixed(0)} ms (${((tailSeconds / seconds) * 100).toFixed(1)} %), ` +
    `${stats.framesSent} frames sent, ${stats.retransmissions} resent`
  );
}

async function naiveLoop(): Promise<string> {
  const s = await open();
  const payload = data(TOTAL);
  const chunk = CHUNK ?? 4 * s.board.limits.memWrite; // the streaming writer's default, for a fair comparison
  const t0 = s.nowNs();
  let serial = s.serial;
  let buffer = s.board.alloc(chunk);
  for (let off = 0; off < TOTAL; off += chunk) {
    const piece = payload.subarray(off, Math.min(TOTAL, off + chunk));
    await buffer.write(piece);
    const view = piece.length === buffer.length ? buffer : buffer.subarray(0, piece.length);
    const done = await serial.writeAll(view).wait();
    serial = done.serial;
    if (view !== buffer) break; // the last, short chunk
    buffer = done.buffer;
  }
  const { ratio: r, seconds } = ratio(s, t0, payload);
  await s.close();
  return (
    `(b) naive writeAll loop (${chunk}-byte chunks): ${(TOTAL / 1024).toFixed(0)} KiB in ${seconds.toFixed(2)} s virtual, ` +
    `${r.toFixed(3)} of the link's line rate`
  );
}

async function startCost(): Promise<string> {
  const s = await open();
  const buf = s.board.alloc(1024);
  await buf.write(data(1024));
  await s.board.ping(); // nothing in flight
  const before = { ...s.board.stats };
  const t = s.serial.writeAll(buf);
  await t.started;
  const after = { ...s.board.stats };
  // 1024 bytes at USART1's rate take longer than the start's reply: no completion event is counted here.
  const sent = after.framesSent - before.framesSent;
  const received = after.framesReceived - before.framesReceived;
  const { serial } = await t.wait();
  const rxBuffer = s.board.alloc(16);
  await s.board.ping();
  const b2 = { ...s.board.stats };
  const rx = serial.readExact(rxBuffer);
  await rx.started;
  const a2 = { ...s.board.stats };
  await rx.stop();
  await s.close();
  return (
    `(c) frames to start one transfer: writeAll ${sent} request + ${received} reply; ` +
    `readExact ${a2.framesSent - b2.framesSent} request + ${a2.framesReceived - b2.framesReceived} reply`
  );
}

const naive = await naiveLoop();
const streaming = await streamingWriter();
const start = await startCost();
console.log(
  `transfer (virtual board, real firmware, link as negotiated, USART1 ${USART1_BAUD} baud, virtual time):`,
);
console.log(`  ${streaming}`);
console.log(`  ${naive}`);
console.log(`  ${start}`);
