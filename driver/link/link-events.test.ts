import { describe, expect, it } from 'vitest';
import { FAKE } from '../test-support/fake-board.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import { ManualTimers, settle } from '../test-support/manual-timers.ts';
import type { LinkNotification } from './link.ts';

const dmaTc = { event: 'dma' as const, channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 };

function record(link: { subscribe(l: (n: LinkNotification) => void): () => void }) {
  const seen: LinkNotification[] = [];
  link.subscribe((n) => seen.push(n));
  return seen;
}

describe('Link: events that never arrive are noticed', () => {
  it('reports a lost last event at the next reply, from its event mark', async () => {
    const { link, board } = await openOnFake();
    const seen = record(link);
    board.emitEvent(dmaTc);
    board.emitEvent(dmaTc, { lose: true }); // the board's last event before it goes quiet
    await settle();
    expect(seen.filter((n) => n.kind === 'events-lost')).toEqual([]);
    await link.request({ command: 'reg-read', address: FAKE.CCR1 });
    const lost = seen.filter((n) => n.kind === 'events-lost');
    expect(lost).toEqual([{ kind: 'events-lost', expected: 2, received: 3, lost: 1 }]);
    expect(link.stats.eventsLost).toBe(1);
    // Once reported, the same loss is not reported again.
    await link.request({ command: 'reg-read', address: FAKE.CCR1 });
    expect(seen.filter((n) => n.kind === 'events-lost')).toHaveLength(1);
    await link.close();
  });

  it('does not count events of the past: a new session starts at its HELLO mark', async () => {
    const { link, board } = await openOnFake();
    const seen = record(link);
    board.emitEvent(dmaTc, { lose: true });
    await link.reopen();
    await link.request({ command: 'reg-read', address: FAKE.CCR1 });
    expect(seen.filter((n) => n.kind === 'events-lost')).toEqual([]);
    await link.close();
  });

  it('gives up a frame whose delimiter never comes once the line is quiet', async () => {
    const timers = new ManualTimers();
    const { link, board } = await openOnFake({ link: { timers, partialFrameTimeoutMs: 20 } });
    const seen = record(link);
    board.emitEvent(dmaTc, { cutDelimiter: true });
    await settle();
    await timers.advance(15);
    expect(seen).toEqual([]);
    await timers.advance(10);
    expect(seen).toEqual([{ kind: 'frame-damaged' }]);
    expect(link.stats.corruptFrames).toBe(1);
    // The next frame decodes cleanly: the abandoned bytes were not kept.
    board.emitEvent(dmaTc);
    await settle();
    expect(seen.at(-1)).toMatchObject({ kind: 'event', event: { counter: 2 } });
    await link.close();
  });

  it('keeps a frame that is only slow: bytes keep the quiet timer from firing', async () => {
    const timers = new ManualTimers();
    const { link, board } = await openOnFake({ link: { timers, partialFrameTimeoutMs: 20 } });
    const seen = record(link);
    const frame = board.encodeEvent(dmaTc);
    board.sendRaw(frame.subarray(0, 5));
    await settle();
    await timers.advance(15);
    board.sendRaw(frame.subarray(5, 9));
    await settle();
    await timers.advance(15);
    board.sendRaw(frame.subarray(9));
    await settle();
    await timers.advance(30);
    expect(seen.map((n) => n.kind)).toEqual(['event']);
    await link.close();
  });
});

describe('Link: what goes on the wire', () => {
  it('puts a 0x00 before a frame after the line was idle, not between frames sent together', async () => {
    const timers = new ManualTimers();
    const { link, board } = await openOnFake({ link: { timers, idleFlushMs: 10 } });
    await timers.advance(11);
    board.rawLog.length = 0;
    const a = link.request({ command: 'reg-read', address: FAKE.CCR1 });
    const b = link.request({ command: 'reg-read', address: FAKE.CCR1 });
    await Promise.all([a, b]);
    const zerosBetween = board.rawLog.filter((b) => b === 0).length;
    expect(board.rawLog[0]).toBe(0);
    expect(zerosBetween).toBe(3); // the leading one, and one delimiter per frame
    await timers.advance(11);
    board.rawLog.length = 0;
    await link.request({ command: 'reg-read', address: FAKE.CCR1 });
    expect(board.rawLog[0]).toBe(0);
    await link.close();
  });

  it('tells when a request first goes on the wire', async () => {
    const { link, board } = await openOnFake({ board: { window: 1 } });
    let dropped = false;
    board.onRequest = (r) => {
      if (r.command === 'reg-write' && !dropped) {
        dropped = true;
        return 'drop-request';
      }
      return 'process';
    };
    let sent = 0;
    await link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: 1 }, { onSent: () => sent++ });
    expect(sent).toBe(1); // not again for the retransmission
    expect(link.stats.retransmissions).toBeGreaterThan(0);
    await link.close();
  });

  it('takes its first sequence number from the random source it is given', async () => {
    const { link, board } = await openOnFake({ link: { random: () => 0.5 } });
    expect(board.received[0]).toMatchObject({ command: 'hello', seq: 0x8000 });
    await link.close();
  });
});
