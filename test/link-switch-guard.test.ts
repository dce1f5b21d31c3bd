/**
 * The guard after SET_LINK_BAUD (PROTOCOL.md §2): a host that waits 1 ms
 * after the reply before its first byte at the new rate, and begins with a
 * 0x00, has every frame answered; one that sends at once can lose its first
 * bytes to the switch, and the board counts the frame it dropped in
 * BOARD_STATUS (linkFramesDropped), so nothing is lost unseen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BoardStatus,
  type Decoded,
  type DistributiveOmit,
  encodeMessage,
  FrameDecoder,
  type Message,
  type Request,
  Status,
} from '../driver/protocol/index.ts';
import { type HostPort, VirtualBoard } from '../emulator/index.ts';
import { loadFirmware } from './support/firmware.ts';
import { virtualTimers } from './support/virtual-timers.ts';

const FAST = 2_000_000;

class Host {
  readonly messages: Message[] = [];
  readonly damaged: Decoded[] = [];
  /** Every byte from the board, as it came. */
  readonly received: number[] = [];
  readonly port: HostPort;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  seq = 100;

  constructor(readonly vb: VirtualBoard) {
    this.port = vb.hostPort();
    this.writer = this.port.writable.getWriter();
    const reader = this.port.readable.getReader();
    const decoder = new FrameDecoder();
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.received.push(...value);
        decoder.push(value, (d) =>
          (d.kind === 'corrupt' || d.kind === 'invalid' ? this.damaged : this.messages).push(d as Message),
        );
      }
    })();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => virtualTimers(this.vb).setTimeout(resolve, ms));
  }

  async raw(bytes: number[]): Promise<void> {
    await this.writer.write(Uint8Array.from(bytes));
  }

  /** Sends a request (after `lead` 0x00s) and waits, in virtual time, for its reply or a NAK. */
  async ask(
    body: DistributiveOmit<Request, 'seq'>,
    lead = 0,
    seq = this.seq++,
  ): Promise<Message | undefined> {
    const frame = encodeMessage({ ...body, seq } as Request);
    await this.raw([...new Array<number>(lead).fill(0), ...frame]);
    for (let waited = 0; waited < 300; waited += 5) {
      const m = this.messages.find((x) => (x.kind === 'reply' && x.seq === seq) || x.kind === 'nak');
      if (m) {
        this.messages.splice(this.messages.indexOf(m), 1);
        return m;
      }
      await this.sleep(5);
    }
    return undefined;
  }

  /** SET_LINK_BAUD, then the port switched as soon as the reply is in (no settling time). */
  async switchTo(baud: number): Promise<void> {
    const reply = await this.ask({ kind: 'request', command: 'set-link-baud', baud });
    expect(reply?.kind === 'reply' && reply.result.status).toBe(Status.OK);
    await this.port.setBaudRate(baud);
  }
}

let vb: VirtualBoard | undefined;
afterEach(async () => {
  await vb?.dispose();
  vb = undefined;
});

async function open(): Promise<Host> {
  vb = new VirtualBoard({ firmware: loadFirmware() });
  vb.start();
  const host = new Host(vb);
  const hello = await host.ask({ kind: 'request', command: 'hello' }, 1);
  expect(hello?.kind === 'reply' && hello.result.status).toBe(Status.OK);
  return host;
}

async function boardStatus(host: Host, lead = 0): Promise<BoardStatus> {
  const reply = await host.ask({ kind: 'request', command: 'board-status' }, lead);
  if (reply?.kind !== 'reply' || reply.command !== 'board-status' || reply.result.status !== Status.OK)
    throw new Error('BOARD_STATUS failed');
  return reply.result.board;
}

describe('the SET_LINK_BAUD guard', () => {
  it('answers every first frame of a host that waits 1 ms and leads with 0x00, both ways', async () => {
    const host = await open();
    for (let i = 0; i < 6; i++) {
      const baud = i % 2 === 0 ? FAST : 115_200;
      await host.switchTo(baud);
      const switchedAt = host.received.length;
      await host.sleep(1);
      const ping = await host.ask({ kind: 'request', command: 'ping', data: Uint8Array.of(i) }, 1);
      expect(ping?.kind, `switch ${i} to ${baud}`).toBe('reply');
      // The board's first frame at the new rate begins with a 0x00 too.
      expect(host.received[switchedAt], `switch ${i}`).toBe(0);
    }
    expect((await boardStatus(host)).linkFramesDropped).toBe(0);
    expect(host.damaged).toEqual([]);
  });

  it('counts what it drops when a host sends before the switch is made, and answers the retransmission', async () => {
    const host = await open();
    const before = await boardStatus(host);
    // SET_LINK_BAUD, and at once, without waiting for the reply, a PING at
    // the new rate: it reaches a USART still at 115200.
    const seq = host.seq;
    host.seq += 2;
    await host.raw([...encodeMessage({ kind: 'request', command: 'set-link-baud', seq, baud: FAST })]);
    await host.port.setBaudRate(FAST);
    await host.raw([
      ...encodeMessage({ kind: 'request', command: 'ping', seq: seq + 1, data: Uint8Array.of(1, 2, 3) }),
    ]);
    await host.sleep(20);
    // Not answered: dropped. Its retransmission, after the guard, is.
    expect(host.messages.some((m) => m.kind === 'reply' && m.seq === seq + 1)).toBe(false);
    const again = await host.ask(
      { kind: 'request', command: 'ping', data: Uint8Array.of(1, 2, 3) },
      1,
      seq + 1,
    );
    expect(again?.kind).toBe('reply');
    // Counted: characters garbled at the old rate, bytes unread at the switch, or a frame cut off by it.
    const after = await boardStatus(host);
    const counted = (b: BoardStatus) => b.linkRxErrors + b.linkRxDropped + (b.linkFramesDropped ?? 0);
    expect(counted(after) - counted(before)).toBeGreaterThanOrEqual(1);
    // The bytes at the wrong rate were garbled, as the strict board says; that was the point.
    expect(vb!.strictReports.every((r) => r.rule === 'baud-mismatch')).toBe(true);
    vb!.chip.strict.clear();
  });
});
