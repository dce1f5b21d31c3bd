/**
 * Serial1 on the fake board with a manual clock, for the safe API's fast
 * tests: what the driver sends is in `fake.received`, time moves only when
 * a test advances `timers`, and the fake's DMA completes only when told
 * (unless `dmaCompletesAtOnce`).
 */

import { Serial1, serialSideOf } from '../api/serial1.ts';
import { Board, type BoardOptions } from '../board/board.ts';
import type { BatchOp, Request } from '../protocol/index.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { FakeBoard, type FakeBoardOptions } from './fake-board.ts';
import { ManualTimers, settle } from './manual-timers.ts';

export const DMA_TC = 1 << 1;
export const DMA_HT = 1 << 2;
export const DMA_TE = 1 << 3;
export const USART_TC = 1 << 6;
export const USART_IDLE = 1 << 4;
export const USART_PE = 1 << 0;
export const USART_FE = 1 << 1;
export const USART_NE = 1 << 2;
export const USART_ORE = 1 << 3;

/** USART1 registers the fake does not name. */
export const USART_CR3 = 0x4001_3808;
export const USART_BRR = 0x4001_380c;
export const USART_RQR = 0x4001_3818;
/** Channel 2's registers besides CCR2 and CMAR2. */
export const CNDTR2 = 0x4002_0020;
export const CPAR2 = 0x4002_0024;

export interface SerialOnFake {
  board: Board;
  fake: FakeBoard;
  timers: ManualTimers;
  serial: Serial1;
  warnings: string[];
}

/**
 * Opens a board on the fake (its DMA waits to be told, its line idle at
 * once) and takes Serial1 at 115200 baud. `hello` changes what the fake's
 * HELLO says before the board opens.
 */
export async function serialOnFake(
  options: {
    fake?: FakeBoardOptions;
    board?: BoardOptions;
    hello?: { usart1ClockHz?: number };
    baudRate?: number;
  } = {},
): Promise<SerialOnFake> {
  const timers = new ManualTimers();
  const { host, device } = createMemoryTransportPair();
  const fake = new FakeBoard(device, { dmaCompletesAtOnce: false, ...options.fake });
  if (options.hello?.usart1ClockHz !== undefined) fake.hello.usart1ClockHz = options.hello.usart1ClockHz;
  const board = await Board.open(host, { retransmitTimeoutMs: 20, maxRetries: 5, timers, ...options.board });
  const warnings: string[] = [];
  const serial = await Serial1.take(board, {
    baudRate: options.baudRate ?? 115_200,
    onWarning: (m) => warnings.push(m),
  });
  return { board, fake, timers, serial, warnings };
}

/** The channel engine behind a serial object (as the driver reaches it). */
export function engineOf(serial: Parameters<typeof serialSideOf>[0]) {
  return serialSideOf(serial).engine;
}

/** Lets what the fake sent (replies, events) reach the driver and its promises settle. */
export async function delivered(board: Board): Promise<void> {
  await board.ping();
  await settle();
}

/** The REG_BATCH requests the fake received since `from` (an index into `fake.received`). */
export function batchesSince(fake: FakeBoard, from = 0): (readonly BatchOp[])[] {
  return fake.received
    .slice(from)
    .filter((r): r is Extract<Request, { command: 'reg-batch' }> => r.command === 'reg-batch')
    .map((r) => r.ops);
}

/** Sends a DMA event of `channel` naming its current start (or `starts`). */
export function emitDma(
  fake: FakeBoard,
  channel: 1 | 2,
  flags: number,
  fields: { cndtr?: number; completions?: number; starts?: number; ccr?: number } = {},
): void {
  fake.emitEvent({
    event: 'dma',
    channel,
    flags,
    cndtr: fields.cndtr ?? 0,
    ccr: fields.ccr ?? 0,
    completions: fields.completions ?? 1,
    starts: fields.starts ?? fake.startsOf(channel),
  });
}

const REGISTER_NAMES = new Map<number, string>([
  [0x4002_0000, 'DMA_ISR'],
  [0x4002_0004, 'DMA_IFCR'],
  [0x4002_0008, 'CCR1'],
  [0x4002_000c, 'CNDTR1'],
  [0x4002_0010, 'CPAR1'],
  [0x4002_0014, 'CMAR1'],
  [0x4002_001c, 'CCR2'],
  [0x4002_0020, 'CNDTR2'],
  [0x4002_0024, 'CPAR2'],
  [0x4002_0028, 'CMAR2'],
  [0x4002_0800, 'DMAMUX_C0CR'],
  [0x4002_0804, 'DMAMUX_C1CR'],
  [0x4001_3800, 'USART_CR1'],
  [0x4001_3804, 'USART_CR2'],
  [0x4001_3808, 'USART_CR3'],
  [0x4001_380c, 'USART_BRR'],
  [0x4001_3818, 'USART_RQR'],
  [0x4001_381c, 'USART_ISR'],
  [0x4001_3820, 'USART_ICR'],
  [0x4001_3824, 'USART_RDR'],
  [0x4001_3828, 'USART_TDR'],
]);

const nameOf = (address: number) => REGISTER_NAMES.get(address) ?? `0x${address.toString(16)}`;

/** A batch's operations as text, one per operation: `CCR1 = 0x109b`, `CR1 |= 0x40 of 0x40`, `status 1`. */
export function describeOps(ops: readonly BatchOp[]): string[] {
  const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
  return ops.map((op) => {
    switch (op.op) {
      case 'write':
        return `${nameOf(op.address)} = ${hex(op.value)}`;
      case 'masked-write':
        return `${nameOf(op.address)} = ${hex(op.value)} in ${hex(op.mask)}`;
      case 'read':
        return `read ${nameOf(op.address)}`;
      case 'poll':
        return `poll ${nameOf(op.address)} & ${hex(op.mask)} == ${hex(op.match)} for ${op.timeoutUs} us`;
      default:
        return `status ${op.channel}`;
    }
  });
}
