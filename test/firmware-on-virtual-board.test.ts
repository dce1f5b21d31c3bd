/**
 * The real bridge firmware ELF on the virtual board, spoken to with nothing
 * but the protocol codec: it boots, answers HELLO, and carries a DMA
 * transfer from the arena through USART1 to the virtual peer.
 */

import { afterEach, describe, expect, it } from 'vitest';
import {
  type BoardEvent,
  type Decoded,
  DmaEventFlag,
  encodeMessage,
  FrameDecoder,
  type Message,
  type Request,
  Status,
  UsartEventFlag,
} from '../driver/protocol/index.ts';
import { VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';

const USART1 = 0x4001_3800;
const DMA1 = 0x4002_0000;
const CCR1 = DMA1 + 0x08;
const DMAMUX_C0CR = 0x4002_0800;

/** A minimal host: writes requests, collects replies and events. */
class RawHost {
  readonly messages: Message[] = [];
  readonly corrupt: Decoded[] = [];
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private waiters: (() => void)[] = [];

  constructor(readonly board: VirtualBoard) {
    const port = board.hostPort();
    this.writer = port.writable.getWriter();
    const reader = port.readable.getReader();
    const decoder = new FrameDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        decoder.push(value, (d) => {
          if (d.kind === 'corrupt' || d.kind === 'invalid') this.corrupt.push(d);
          else this.messages.push(d);
          for (const w of this.waiters.splice(0)) w();
        });
      }
    })();
  }

  async send(request: Request): Promise<void> {
    await this.writer.write(encodeMessage(request));
  }

  async waitFor<T extends Message>(pred: (m: Message) => m is T, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`timed out; got ${JSON.stringify(this.messages.map((m) => m.kind))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  reply(seq: number) {
    return this.waitFor((m): m is Extract<Message, { kind: 'reply' }> => m.kind === 'reply' && m.seq === seq);
  }

  event<E extends BoardEvent['event']>(
    event: E,
    pred: (e: Extract<BoardEvent, { event: E }>) => boolean = () => true,
  ) {
    return this.waitFor(
      (m): m is Extract<BoardEvent, { event: E }> =>
        m.kind === 'event' && m.event === event && pred(m as Extract<BoardEvent, { event: E }>),
    );
  }
}

let board: VirtualBoard | undefined;
afterEach(async () => {
  await board?.dispose();
  board = undefined;
});

describe('bridge firmware on the virtual board', () => {
  it('boots, announces itself and answers HELLO with the chip and arena', async () => {
    board = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
    board.start();
    const host = new RawHost(board);
    const boot = await host.event('boot');
    expect(boot.counter).toBe(0);
    await host.send({ kind: 'request', command: 'hello', seq: 1000 });
    const reply = await host.reply(1000);
    expect(reply.command).toBe('hello');
    if (reply.command !== 'hello' || reply.result.status !== Status.OK) throw new Error('HELLO refused');
    const hello = reply.result.hello;
    expect(hello.devId).toBe(0x460);
    expect(hello.bootEpoch).toBe(boot.bootEpoch);
    // 22 KiB of arena, the host link's rings (4 KiB receive, 2 KiB transmit) right after it.
    expect(hello.arenaBase).toBe(0x2000_1000);
    expect(hello.arenaSize).toBe(22 * 1024);
    expect(hello.rxBuffer).toBe(4095);
    expect(hello.usart1ClockHz).toBe(64_000_000);
    expect(host.corrupt).toEqual([]);
  });

  it('carries a DMA transfer from the arena through USART1 to the peer, with TC events', async () => {
    board = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
    board.start();
    const host = new RawHost(board);
    await host.send({ kind: 'request', command: 'hello', seq: 1 });
    const hello = await host.reply(1);
    if (hello.command !== 'hello' || hello.result.status !== Status.OK) throw new Error('HELLO refused');
    const arena = hello.result.hello.arenaBase;
    const text = new TextEncoder().encode('Hello, world!');
    const brr = Math.round(hello.result.hello.usart1ClockHz / 115_200);

    await host.send({ kind: 'request', command: 'mem-write', seq: 2, address: arena, data: text });
    await host.send({
      kind: 'request',
      command: 'reg-batch',
      seq: 3,
      ops: [
        { op: 'write', address: USART1 + 0x0c, value: brr },
        { op: 'write', address: USART1 + 0x08, value: 1 << 7 }, // CR3.DMAT
        { op: 'write', address: USART1 + 0x00, value: (1 << 0) | (1 << 3) | (1 << 6) }, // UE TE TCIE
        { op: 'write', address: USART1 + 0x20, value: 1 << 6 }, // ICR.TCCF
        { op: 'write', address: DMAMUX_C0CR, value: 51 },
        { op: 'write', address: CCR1 + 4, value: text.length },
        { op: 'write', address: CCR1 + 8, value: USART1 + 0x28 },
        { op: 'write', address: CCR1 + 12, value: arena },
        { op: 'read', address: CCR1 + 4 },
        // MINC, DIR, TCIE, EN
        { op: 'write', address: CCR1, value: (1 << 7) | (1 << 4) | (1 << 1) | 1 },
      ],
    });
    const write = await host.reply(2);
    expect(write.result.status).toBe(Status.OK);
    const start = await host.reply(3);
    if (start.command !== 'reg-batch') throw new Error('unexpected reply');
    expect(start.result.status).toBe(Status.OK);
    expect(start.executed).toBe(10);
    expect(start.values).toEqual([text.length]);

    const dmaTc = await host.event('dma', (e) => e.channel === 1 && (e.flags & DmaEventFlag.TC) !== 0);
    expect(dmaTc.cndtr).toBe(0);
    const tcIndex = host.messages.indexOf(dmaTc);
    await host.event(
      'usart',
      (e) => (e.flags & UsartEventFlag.TC) !== 0 && host.messages.indexOf(e) > tcIndex,
    );

    const received = board.peer.received();
    expect(new TextDecoder().decode(Uint8Array.from(received.map((r) => r.byte)))).toBe('Hello, world!');
    // Back to back at 115200 8N1: one character every 10 bits of 556 cycles at 64 MHz.
    const frameNs = (10 * brr * 1e9) / 64e6;
    for (let i = 1; i < received.length; i++) {
      expect(received[i]!.timeNs - received[i - 1]!.timeNs).toBeCloseTo(frameNs, 0);
    }
  });

  it('refuses to start DMA into memory outside the arena, whatever the host asks', async () => {
    board = new VirtualBoard({ firmware: loadFirmware(), usart1: 'peer' });
    board.start();
    const host = new RawHost(board);
    await host.send({ kind: 'request', command: 'hello', seq: 1 });
    await host.reply(1);
    await host.send({
      kind: 'request',
      command: 'reg-batch',
      seq: 2,
      ops: [
        { op: 'write', address: DMAMUX_C0CR, value: 50 },
        { op: 'write', address: CCR1 + 4, value: 16 },
        { op: 'write', address: CCR1 + 8, value: USART1 + 0x24 },
        { op: 'write', address: CCR1 + 12, value: 0x2000_0000 }, // the firmware's own RAM
        { op: 'write', address: CCR1, value: (1 << 7) | 1 },
      ],
    });
    const reply = await host.reply(2);
    if (reply.command !== 'reg-batch') throw new Error('unexpected reply');
    expect(reply.executed).toBe(4);
    expect(reply.result).toEqual({ status: Status.DMA_START_REFUSED, reason: 1 });
  });
  it('refuses a start over memory the other channel is running on, in either direction; no byte lands', async () => {
    // USART1 in loopback: channel 1 sends a buffer while channel 2 would
    // receive what it sends into the same memory.
    board = new VirtualBoard({ firmware: loadFirmware(), usart1: 'loopback' });
    board.start();
    const host = new RawHost(board);
    await host.send({ kind: 'request', command: 'hello', seq: 1 });
    const hello = await host.reply(1);
    if (hello.command !== 'hello' || hello.result.status !== Status.OK) throw new Error('HELLO refused');
    const arena = hello.result.hello.arenaBase;
    const brr = Math.round(hello.result.hello.usart1ClockHz / 115_200);
    const sent = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 1) & 0xff);
    const CCR2 = CCR1 + 0x14;
    const DMAMUX_C1CR = DMAMUX_C0CR + 4;
    const rx2 = (cmar: number, count: number) => [
      { op: 'write' as const, address: DMAMUX_C1CR, value: 50 },
      { op: 'write' as const, address: CCR2 + 4, value: count },
      { op: 'write' as const, address: CCR2 + 8, value: USART1 + 0x24 },
      { op: 'write' as const, address: CCR2 + 12, value: cmar },
      { op: 'write' as const, address: CCR2, value: (1 << 7) | 1 }, // MINC, EN
    ];
    await host.send({ kind: 'request', command: 'mem-write', seq: 2, address: arena, data: sent });
    await host.send({
      kind: 'request',
      command: 'reg-batch',
      seq: 3,
      ops: [
        { op: 'write', address: USART1 + 0x0c, value: brr },
        { op: 'write', address: USART1 + 0x08, value: (1 << 7) | (1 << 6) }, // DMAT, DMAR
        { op: 'write', address: USART1 + 0x00, value: (1 << 0) | (1 << 2) | (1 << 3) }, // UE RE TE
        { op: 'write', address: DMAMUX_C0CR, value: 51 },
        { op: 'write', address: CCR1 + 4, value: sent.length },
        { op: 'write', address: CCR1 + 8, value: USART1 + 0x28 },
        { op: 'write', address: CCR1 + 12, value: arena },
        { op: 'write', address: CCR1, value: (1 << 7) | (1 << 4) | (1 << 1) | 1 }, // MINC DIR TCIE EN
        // a reception into the second half of what channel 1 is sending
        ...rx2(arena + 100, 200),
      ],
    });
    expect((await host.reply(2)).result.status).toBe(Status.OK);
    const start = await host.reply(3);
    if (start.command !== 'reg-batch') throw new Error('unexpected reply');
    expect(start.executed).toBe(12);
    expect(start.result).toEqual({ status: Status.DMA_START_REFUSED, reason: 9 });
    await host.event('dma', (e) => e.channel === 1 && (e.flags & DmaEventFlag.TC) !== 0);
    // Every byte went round the loop and none landed: the buffer is as written.
    await host.send({ kind: 'request', command: 'mem-read', seq: 4, address: arena, length: 200 });
    const back = await host.reply(4);
    if (back.command !== 'mem-read' || back.result.status !== Status.OK) throw new Error('MEM_READ refused');
    expect([...back.result.data]).toEqual([...sent]);

    // The other way: channel 2 receives (nothing arrives), channel 1 would
    // send memory that reception writes.
    await host.send({
      kind: 'request',
      command: 'reg-batch',
      seq: 5,
      ops: [
        { op: 'write', address: CCR1, value: 0 },
        ...rx2(arena + 0x400, 64),
        { op: 'write', address: CCR1 + 12, value: arena + 0x43f },
        { op: 'write', address: CCR1 + 4, value: 1 },
        { op: 'write', address: CCR1, value: (1 << 7) | (1 << 4) | 1 },
        { op: 'read', address: CCR1 },
      ],
    });
    const other = await host.reply(5);
    if (other.command !== 'reg-batch') throw new Error('unexpected reply');
    expect(other.executed).toBe(8);
    expect(other.result).toEqual({ status: Status.DMA_START_REFUSED, reason: 9 });
    expect(host.corrupt).toEqual([]);
  });
  it('powers up with its own boot epoch: fresh boards and power-ons differ, unless given one seed', async () => {
    const epochs: number[] = [];
    const seeds: number[] = [];
    const bootEpoch = async (host: RawHost) => (await host.event('boot')).bootEpoch;
    const boot = async (options: { sramSeed?: number }): Promise<void> => {
      const vb = new VirtualBoard({ firmware: loadFirmware(), ...options });
      vb.start();
      const host = new RawHost(vb);
      epochs.push(await bootEpoch(host));
      seeds.push(vb.sramSeed);
      // The same board powered off and on again: a new epoch.
      host.messages.length = 0;
      vb.powerCycle();
      epochs.push(await bootEpoch(host));
      await vb.dispose();
    };
    // Two fresh boards with the same (default) UID and no seed.
    await boot({});
    await boot({});
    expect(new Set(epochs).size, `seeds ${seeds.join(', ')}`).toBe(4);
    expect(seeds[0]).not.toBe(seeds[1]);
    // One seed: the same power-ups, whatever the process.
    const seeded = epochs.length;
    await boot({ sramSeed: seeds[0]! });
    expect(epochs.slice(seeded)).toEqual(epochs.slice(0, 2));
  });
  for (const [clock, pllLockNs] of [
    ['64 MHz', undefined],
    ['the 16 MHz fallback clock', 1e12],
  ] as const) {
    it(`keeps a batch POLL to its timeout at ${clock}`, async () => {
      board = new VirtualBoard({
        firmware: loadFirmware(),
        ...(pllLockNs === undefined ? {} : { pllLockNs }),
      });
      board.start();
      const host = new RawHost(board);
      await host.event('boot'); // at 16 MHz the board listens only after its PLL gave up
      await host.send({ kind: 'request', command: 'hello', seq: 1 });
      const hello = await host.reply(1);
      if (hello.command !== 'hello' || hello.result.status !== Status.OK) throw new Error('HELLO refused');
      expect(hello.result.hello.usart1ClockHz).toBe(pllLockNs === undefined ? 64e6 : 16e6);
      // USART1 is idle: its TC stays set, so a POLL for TC = 0 runs to its 20 ms timeout.
      const ops = [
        { op: 'poll' as const, address: USART1 + 0x1c, mask: 1 << 6, match: 0, timeoutUs: 20_000 },
      ];
      await host.send({ kind: 'request', command: 'ping', seq: 2, data: new Uint8Array() });
      await host.reply(2);
      const sentAt = board.nowNs;
      await host.send({ kind: 'request', command: 'reg-batch', seq: 3, ops });
      const reply = await host.reply(3);
      const elapsedMs = (board.nowNs - sentAt) / 1e6;
      expect(reply.result.status).toBe(Status.POLL_TIMEOUT);
      // 20 ms of POLL plus a few ms of frames at 115200, not four times the timeout.
      expect(elapsedMs).toBeGreaterThan(20);
      expect(elapsedMs).toBeLessThan(26);
    });
  }
});
