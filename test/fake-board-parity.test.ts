/**
 * The fake board of the driver's unit tests (driver/test-support/fake-board.ts)
 * follows the firmware's policy (PROTOCOL.md §6): the same probes (register
 * reads and writes over the whole allow-list and around it, value checks, every
 * DMA start check, BUSY rules, arena bounds) sent through the driver to the
 * fake and to the real firmware on the virtual board must come back the same,
 * so the two cannot drift apart unnoticed. So must the events a transfer
 * ends with: a USART event names both channels' starts as STATUS reads them.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { Serial1 } from '../driver/api/index.ts';
import { Board, DmaStartRefusedError, parseChannelStatus, type UsartEvent } from '../driver/board/index.ts';
import type { BatchOp } from '../driver/protocol/index.ts';
import { FakeBoard } from '../driver/test-support/fake-board.ts';
import { createMemoryTransportPair } from '../driver/transport/memory-pair.ts';
import { openVirtualTarget, type VirtualTarget } from './support/virtual-target.ts';

let target: VirtualTarget | undefined;
afterEach(async () => {
  await target?.dispose();
  target = undefined;
});

const DMA1 = 0x4002_0000;
const DMAMUX = 0x4002_0800;
const USART1 = 0x4001_3800;
const CCR = (ch: number) => DMA1 + 0x08 + 20 * (ch - 1);
const CNDTR = (ch: number) => CCR(ch) + 4;
const CPAR = (ch: number) => CCR(ch) + 8;
const CMAR = (ch: number) => CCR(ch) + 12;
const MUX = (ch: number) => DMAMUX + 4 * (ch - 1);
const TDR = USART1 + 0x28;
const RDR = USART1 + 0x24;
const EN = 1;
const DIR = 1 << 4;
const MINC = 1 << 7;

/** A named probe: ops run as one raw batch after RESET_PERIPHERALS. */
interface Probe {
  name: string;
  ops: BatchOp[];
}

function probes(arenaBase: number): Probe[] {
  const list: Probe[] = [];
  const addresses = [
    ...Array.from({ length: 0x34 / 4 }, (_, i) => DMA1 + 4 * i),
    DMA1 + 0x30, // channel 3's CCR
    DMA1 + 0x02, // unaligned
    ...Array.from({ length: 4 }, (_, i) => DMAMUX + 4 * i),
    ...Array.from({ length: 0x34 / 4 }, (_, i) => USART1 + 4 * i),
    0x4002_1000, // RCC_CR
    0x2000_4000, // memory, not a register
  ];
  for (const address of addresses) {
    const hex = address.toString(16);
    list.push({ name: `read ${hex}`, ops: [{ op: 'read', address }] });
    if (address === TDR) continue; // a write would send a byte
    list.push({ name: `write 0 to ${hex}`, ops: [{ op: 'write', address, value: 0 }] });
  }
  const valueChecks: [string, number, number][] = [
    ['CR1 RXNEIE', USART1, 1 << 5],
    ['CR1 TXEIE', USART1, 1 << 7],
    ['CR1 CMIE', USART1, 1 << 14],
    ['CR1 RTOIE', USART1, 1 << 26],
    ['CR1 EOBIE', USART1, 1 << 27],
    ['CR1 TXFEIE', USART1, 1 << 30],
    ['CR1 RXFFIE', USART1, 1 << 31],
    ['CR1 TCIE|IDLEIE', USART1, (1 << 6) | (1 << 4)],
    ['CR2 LBDIE', USART1 + 4, 1 << 6],
    ['CR3 CTSIE', USART1 + 8, 1 << 10],
    ['CR3 WUFIE', USART1 + 8, 1 << 22],
    ['CR3 TXFTIE', USART1 + 8, 1 << 23],
    ['CR3 TCBGTIE', USART1 + 8, 1 << 24],
    ['CR3 RXFTIE', USART1 + 8, 1 << 28],
    ['CR3 EIE|DMAT|DMAR', USART1 + 8, 1 | (1 << 6) | (1 << 7)],
    ['IFCR channel 3', DMA1 + 4, 1 << 8],
    ['IFCR channels 1-2', DMA1 + 4, 0xff],
  ];
  for (const [name, address, value] of valueChecks) {
    list.push({ name: `value ${name}`, ops: [{ op: 'write', address, value: value >>> 0 }] });
  }
  /** A full transmit start on channel `ch` with some fields changed. */
  const start = (
    ch: number,
    o: { cndtr?: number; cpar?: number; cmar?: number; mux?: number; ccr?: number } = {},
  ): BatchOp[] => [
    { op: 'write', address: MUX(ch), value: o.mux ?? 51 },
    { op: 'write', address: CNDTR(ch), value: o.cndtr ?? 16 },
    { op: 'write', address: CPAR(ch), value: o.cpar ?? TDR },
    { op: 'write', address: CMAR(ch), value: o.cmar ?? arenaBase },
    { op: 'write', address: CCR(ch), value: o.ccr ?? EN | DIR | MINC },
  ];
  const receive = (ch: number, cmar = arenaBase): BatchOp[] =>
    start(ch, { mux: 50, cpar: RDR, cmar, ccr: EN | MINC });
  for (const ch of [1, 2]) {
    list.push(
      { name: `ch${ch} start outside the arena`, ops: start(ch, { cmar: arenaBase - 0x100 }) },
      { name: `ch${ch} start off the arena's end`, ops: start(ch, { cmar: arenaBase + 0x10_0000 }) },
      { name: `ch${ch} start to another peripheral`, ops: start(ch, { cpar: USART1 + 0x0c }) },
      { name: `ch${ch} start with DIR not matching CPAR`, ops: start(ch, { cpar: RDR }) },
      { name: `ch${ch} start with another DMAMUX request`, ops: start(ch, { mux: 52 }) },
      { name: `ch${ch} start MEM2MEM`, ops: start(ch, { ccr: EN | DIR | MINC | (1 << 14) }) },
      { name: `ch${ch} start PINC`, ops: start(ch, { ccr: EN | DIR | MINC | (1 << 6) }) },
      { name: `ch${ch} start MSIZE reserved`, ops: start(ch, { ccr: EN | DIR | MINC | (3 << 10) }) },
      {
        name: `ch${ch} start misaligned for MSIZE 32`,
        ops: start(ch, { cmar: arenaBase + 2, ccr: EN | DIR | MINC | (2 << 10) | (2 << 8) }),
      },
      { name: `ch${ch} start with CNDTR 0`, ops: start(ch, { cndtr: 0 }) },
      {
        name: `ch${ch} reception, then CNDTR while enabled`,
        ops: [...receive(ch), { op: 'write', address: CNDTR(ch), value: 4 }],
      },
      {
        name: `ch${ch} reception, then CMAR while enabled`,
        ops: [...receive(ch), { op: 'write', address: CMAR(ch), value: arenaBase }],
      },
      {
        name: `ch${ch} reception, then DMAMUX while enabled`,
        ops: [...receive(ch), { op: 'write', address: MUX(ch), value: 50 }],
      },
      {
        name: `ch${ch} reception, then CCR with EN again`,
        ops: [...receive(ch), { op: 'write', address: CCR(ch), value: EN | MINC }],
      },
      {
        name: `ch${ch} reception, then disabled`,
        ops: [...receive(ch), { op: 'write', address: CCR(ch), value: 0 }],
      },
      { name: `ch${ch} status`, ops: [{ op: 'status', channel: ch }] },
    );
  }
  // PROTOCOL.md §6: a start over the other running channel's memory, either direction.
  list.push(
    { name: 'ch1 reception, ch2 reception over it', ops: [...receive(1), ...receive(2, arenaBase + 8)] },
    {
      name: 'ch2 reception, ch1 transmit over it',
      ops: [...receive(2), ...start(1, { cmar: arenaBase + 15 })],
    },
    { name: 'ch1 transmit, ch2 transmit over it', ops: [...start(1), ...start(2, { cmar: arenaBase + 4 })] },
    { name: 'ch1 reception, ch2 reception beside it', ops: [...receive(1), ...receive(2, arenaBase + 16)] },
  );
  list.push({ name: 'status of channel 3', ops: [{ op: 'status', channel: 3 }] });
  return list;
}

/** What the board said, in the driver's words: 'ok', or the refusal with its reason. */
async function outcome(board: Board, ops: BatchOp[]): Promise<string> {
  await board.resetPeripherals();
  try {
    const r = await board.raw.batch(ops);
    if (!r.failure) return 'ok';
    const e = r.failure.error;
    return `${r.failure.index}: ${e.name}${e instanceof DmaStartRefusedError ? ` reason ${e.reason}` : ''}`;
  } catch (e) {
    return `thrown ${(e as Error).name}`;
  }
}

async function memOutcome(board: Board, address: number, length: number): Promise<string> {
  try {
    await board.readMemory(address, length);
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

/** How a writeAll() ends as its USART event says, in the driver's words. */
async function endOfWrite(board: Board): Promise<string> {
  const serial = await Serial1.take(board, { baudRate: 115_200 });
  const events: UsartEvent[] = [];
  const stop = board.subscribe((n) => {
    if (n.kind === 'usart') events.push(n);
  });
  const buffer = board.alloc(4);
  await buffer.write(Uint8Array.of(1, 2, 3, 4));
  await serial.writeAll(buffer).wait();
  await board.ping(); // the last event is in before its reply
  stop();
  const r = await board.raw.batch([
    { op: 'status', channel: 1 },
    { op: 'status', channel: 2 },
  ]);
  const [ch1, ch2] = [parseChannelStatus(r.values, 0), parseChannelStatus(r.values, 4)];
  return events
    .map(
      (e) =>
        `flags ${e.flags.toString(16)}, cndtr1 ${e.cndtr1}, ` +
        `names starts: ${e.starts1 === ch1.starts && e.starts2 === ch2.starts}`,
    )
    .join('; ');
}

describe('the fake board follows the firmware', () => {
  it('ends a write with a USART TC that names both channels’ starts', async () => {
    target = await openVirtualTarget();
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device, { arenaBase: target.board.arena.base, arenaSize: target.board.arena.size });
    const fake = await Board.open(host, { retransmitTimeoutMs: 50 });
    try {
      const real = await endOfWrite(target.board);
      expect(real).toBe('flags 40, cndtr1 0, names starts: true');
      expect(await endOfWrite(fake)).toBe(real);
    } finally {
      await fake.close();
    }
  });

  it('answers every policy probe as the real firmware on the virtual board does', async () => {
    target = await openVirtualTarget();
    const real = target.board;
    const { host, device } = createMemoryTransportPair();
    new FakeBoard(device, {
      arenaBase: real.arena.base,
      arenaSize: real.arena.size,
      dmaCompletesAtOnce: false,
    });
    const fake = await Board.open(host, { retransmitTimeoutMs: 50 });
    try {
      const differences: string[] = [];
      for (const probe of probes(real.arena.base)) {
        const [r, f] = [await outcome(real, probe.ops), await outcome(fake, probe.ops)];
        if (r !== f) differences.push(`${probe.name}: firmware ${r}, fake ${f}`);
      }
      const { base, size } = real.arena;
      for (const [address, length] of [
        [base, 1],
        [base - 1, 2],
        [base + size - 4, 4],
        [base + size - 4, 8],
        [base, 256],
      ] as const) {
        const [r, f] = [await memOutcome(real, address, length), await memOutcome(fake, address, length)];
        if (r !== f)
          differences.push(`MEM_READ ${length} at ${address.toString(16)}: firmware ${r}, fake ${f}`);
      }
      expect(differences).toEqual([]);
    } finally {
      await fake.close();
    }
    // The probes wrote 0 to registers on purpose; nothing else is expected of the strict board.
    target.vb.chip.strict.clear();
  });
});
