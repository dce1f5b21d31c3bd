/**
 * The host link at each rate it negotiates, on the virtual board running the
 * real firmware, in virtual time (what a real board would do):
 *
 * - streaming write: USART1 at 4 Mbaud (faster than any link rate, so the
 *   link is the bottleneck), the stream writer's bytes delivered on USART1
 *   per second over the link's line rate (baud / 10 bytes a second, 8N1),
 *   sustained over at least 256 KiB;
 * - circular read: the virtual peer sends at a steady fraction of the line
 *   rate into a circular reception (USART1 at 4 Mbaud); the highest
 *   fraction the reader keeps up with over at least 256 KiB (and twelve laps
 *   of its buffer), every byte checked, found by bisection: the sustained
 *   rate, not a burst's;
 * - round trips: empty PINGs, one at a time;
 * - bytes lost: what the board counted (BOARD_STATUS: receive ring lapped,
 *   damaged characters) and what the link saw (corrupt frames,
 *   retransmissions);
 * - the firmware's CPU load: the share of the core's cycles not spent in
 *   WFI, while streaming and while reading, with flash wait states
 *   modelled as the firmware sets them (LATENCY = 2 at 64 MHz, prefetch and
 *   instruction cache on: emulator/core/cpu.ts FetchTiming).
 *
 * Then the same at 2 Mbaud with the host port's model of USB full-speed
 * frames (1 ms), as the ST-LINK's virtual COM port has.
 *
 *   npx tsx scripts/bench-link-rates.ts [rates...]
 */

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Serial1 } from '../driver/api/index.ts';
import { Board } from '../driver/board/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { virtualTimers } from '../node/virtual/virtual-timers.ts';

const ELF = fileURLToPath(new URL('../firmware-bridge/build/bridge.elf', import.meta.url));
const RATES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [115_200, 921_600, 2_000_000];
const USART1_BAUD = 4_000_000;
/** Every streaming figure is measured over at least this much data: a short burst hides a reader falling behind. */
const SUSTAINED_BYTES = 256 * 1024;

if (!existsSync(ELF)) {
  console.log(`bench-link-rates: skipped, ${ELF} is missing (make -C firmware-bridge)`);
  process.exit(0);
}
const firmware = new Uint8Array(readFileSync(ELF));

interface Session {
  vb: VirtualBoard;
  board: Board;
  seconds(): number;
  close(): Promise<void>;
}

async function open(baud: number, usbFrameNs?: number): Promise<Session> {
  const vb = new VirtualBoard({ firmware, usart1: 'peer', peerBaudRate: USART1_BAUD });
  vb.start();
  const port = vb.hostPort(usbFrameNs === undefined ? {} : { usbFrameNs });
  const board = await Board.open(port, { timers: virtualTimers(vb), linkBaud: baud });
  return {
    vb,
    board,
    seconds: () => vb.nowNs / 1e9,
    async close() {
      await board.close();
      await vb.dispose();
    },
  };
}

/** Core load over a stretch of work: cycles not slept over all cycles. */
async function withLoad<T>(vb: VirtualBoard, work: () => Promise<T>): Promise<{ result: T; load: number }> {
  const cpu = vb.chip.cpu;
  const c0 = cpu.cycles;
  const s0 = cpu.sleptCycles;
  const result = await work();
  const cycles = cpu.cycles - c0;
  return { result, load: cycles === 0 ? 0 : 1 - (cpu.sleptCycles - s0) / cycles };
}

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 131 + (i >> 9) + seed) & 0xff;
  return out;
}

async function roundTrips(s: Session, count: number): Promise<number> {
  await s.board.ping();
  const t0 = s.seconds();
  for (let i = 0; i < count; i++) await s.board.ping();
  return count / (s.seconds() - t0);
}

async function streamingWrite(s: Session, baud: number): Promise<{ ratio: number; load: number }> {
  // Sustained: at least 256 KiB, and at least half a second of line time.
  const total = Math.max(SUSTAINED_BYTES, Math.round(baud / 10 / 2));
  const payload = pattern(total, 1);
  const serial = await Serial1.take(s.board, { baudRate: USART1_BAUD });
  s.vb.peer.clear();
  const t0 = s.seconds();
  const { load } = await withLoad(s.vb, () => serial.streamWriter().pipeFrom(payload));
  const received = s.vb.peer.received();
  if (received.length !== total || received.some((r, i) => r.byte !== payload[i])) {
    throw new Error(
      `streaming write: the peer received ${received.length} of ${total} bytes, or other bytes`,
    );
  }
  const seconds = received.at(-1)!.timeNs / 1e9 - t0;
  return { ratio: total / seconds / (baud / 10), load };
}

/** One circular run at `fraction` of the line rate: whether the reader kept up, and the core's load. */
async function circularRun(
  s: Session,
  baud: number,
  fraction: number,
  bufferBytes: number,
): Promise<{ ok: boolean; load: number }> {
  const serial = await Serial1.take(s.board, { baudRate: USART1_BAUD });
  const reception = serial.readCircular(s.board.alloc(bufferBytes));
  await reception.started;
  // Sustained: whole laps of the buffer, at least twelve and at least 256 KiB.
  const total = Math.max(12, Math.ceil(SUSTAINED_BYTES / bufferBytes)) * bufferBytes;
  const data = pattern(total, 7);
  const burst = 64;
  const periodNs = (burst / ((fraction * baud) / 10)) * 1e9;
  let sent = 0;
  const clock = s.vb.chip.clock;
  const inject = () => {
    if (sent >= total) return;
    const n = Math.min(burst, total - sent);
    s.vb.peer.inject(data.subarray(sent, sent + n));
    sent += n;
    clock.schedule(periodNs, inject);
  };
  inject();
  let got = 0;
  const { result: ok, load } = await withLoad(s.vb, async () => {
    try {
      for await (const half of reception) {
        for (const b of half) {
          if (b !== data[got]) throw new Error(`circular read: byte ${got} is wrong`);
          got++;
        }
        if (got >= total) break;
      }
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'OverrunError') return false;
      throw error;
    }
  });
  // The rest of what the peer sends lands in the stopped reception's buffer: let it finish.
  await new Promise<void>((resolve) =>
    virtualTimers(s.vb).setTimeout(resolve, (periodNs * (total - sent)) / burst / 1e6 + 1),
  );
  await reception.stop().catch(() => {});
  return { ok, load };
}

async function circularRead(baud: number): Promise<{ fraction: number; load: number; bufferBytes: number }> {
  // A buffer that holds about 40 ms of data at the line rate (at least 2 KiB).
  const bufferBytes = Math.max(2048, 2 ** Math.ceil(Math.log2((baud / 10) * 0.04)));
  let low = 0.5;
  let high = 1.0;
  let load = 0;
  for (let step = 0; step < 7; step++) {
    const mid = (low + high) / 2;
    const s = await open(baud);
    const run = await circularRun(s, baud, mid, bufferBytes);
    await s.close();
    if (run.ok) {
      low = mid;
      load = run.load;
    } else {
      high = mid;
    }
  }
  return { fraction: low, load, bufferBytes };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}

console.log(
  `host link (virtual board, real firmware, USART1 at ${USART1_BAUD} baud, virtual time; line rate = baud / 10 bytes/s;` +
    ' CPU load with flash wait states, prefetch and cache as the firmware sets them):',
);
for (const baud of RATES) {
  const s = await open(baud);
  if (s.board.linkRate.baud !== baud)
    throw new Error(`the link runs at ${s.board.linkRate.baud}, not ${baud}`);
  const trips = await roundTrips(s, 300);
  const write = await streamingWrite(s, baud);
  const status = await s.board.status();
  const stats = s.board.stats;
  const strict = s.vb.strictReports.length;
  await s.close();
  const read = await circularRead(baud);
  const lost = status.linkRxDropped + status.linkRxErrors;
  console.log(
    `link ${baud} baud: streaming write ${write.ratio.toFixed(3)} of the line rate, ` +
      `circular read ${read.fraction.toFixed(3)} of the line rate, ${trips.toFixed(0)} round trips/s`,
  );
  console.log(
    `    bytes lost ${lost} (board: ${status.linkRxDropped} dropped, ${status.linkRxErrors} damaged; ` +
      `link: ${stats.corruptFrames} corrupt frames, ${stats.retransmissions} retransmissions); ` +
      `firmware CPU load ${pct(write.load)} streaming, ${pct(read.load)} reading (${read.bufferBytes}-byte circular buffer); ` +
      `strict-board reports ${strict}`,
  );
}

const usb = await open(2_000_000, 1_000_000);
const usbTrips = await roundTrips(usb, 100);
const usbWrite = await streamingWrite(usb, 2_000_000);
await usb.close();
console.log(
  `link 2000000 baud with USB full-speed frames (1 ms each way): streaming write ${usbWrite.ratio.toFixed(3)} ` +
    `of the line rate, ${usbTrips.toFixed(0)} round trips/s`,
);
