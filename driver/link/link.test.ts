import { describe, expect, it } from 'vitest';
import { Status } from '../protocol/index.ts';
import { FAKE, FakeBoard } from '../test-support/fake-board.ts';
import { openOnFake } from '../test-support/link-harness.ts';
import { ManualTimers, settle } from '../test-support/manual-timers.ts';
import { createMemoryTransportPair } from '../transport/memory-pair.ts';
import { DeviceResetError, LinkClosedError, LinkTimeoutError, LinkUsageError } from './errors.ts';
import { Link, type LinkNotification } from './link.ts';

const ping = (n: number) => ({ command: 'ping' as const, data: Uint8Array.of(n & 0xff, n >> 8) });

describe('Link: session and requests', () => {
  it('opens a session with HELLO and answers a PING', async () => {
    const { link, board } = await openOnFake({ link: { initialSeq: 0xfffe } });
    expect(link.state).toBe('open');
    expect(link.helloInfo.devId).toBe(0x460);
    expect(link.epoch).toBe(board.bootEpoch);
    const reply = await link.request(ping(7));
    expect(reply.seq).toBe(0xffff); // HELLO took 0xfffe
    expect(reply.result).toEqual({ status: Status.OK, data: Uint8Array.of(7, 0) });
    const next = await link.request(ping(8));
    expect(next.seq).toBe(0); // wraps mod 2^16
    await link.close();
  });

  it('keeps at most `window` requests in flight and answers them in order', async () => {
    const { link, board } = await openOnFake({ board: { window: 3 } });
    let maxInFlight = 0;
    board.onRequest = () => {
      maxInFlight = Math.max(maxInFlight, link.inFlight);
      return 'process';
    };
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => link.request(ping(i))));
    expect(replies.map((r) => (r.result.status === Status.OK ? r.result.data[0] : -1))).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(link.effectiveWindow).toBe(3);
    await link.close();
  });

  it('hands refusals back as replies (the board layer types them)', async () => {
    const { link } = await openOnFake();
    const r = await link.request({ command: 'reg-read', address: 0x1234 });
    expect(r.result).toEqual({ status: Status.REG_NOT_ALLOWED, address: 0x1234 });
    await link.close();
  });

  it('retransmits a lost request and a lost reply, executing each once', async () => {
    const { link, board } = await openOnFake();
    let n = 0;
    board.onRequest = (r) => {
      if (r.command !== 'reg-write') return 'process';
      n++;
      return n === 1 ? 'drop-request' : n === 2 ? 'drop-reply' : 'process';
    };
    await link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: 0x41 });
    expect(board.usartTx).toEqual([0x41]);
    expect(board.executed).toBe(1);
    expect(link.stats.retransmissions).toBe(2);
    await link.close();
  });

  it('goes back to the expected seq after a SEQ_GAP, once per loss', async () => {
    const { link, board } = await openOnFake({ link: { retransmitTimeoutMs: 5000 } });
    let dropped = false;
    board.onRequest = (r) => {
      if (r.command === 'reg-write' && r.value === 0 && !dropped) {
        dropped = true;
        return 'drop-request';
      }
      return 'process';
    };
    const writes = [0, 1, 2, 3].map((v) =>
      link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: v }),
    );
    await Promise.all(writes);
    expect(board.usartTx).toEqual([0, 1, 2, 3]);
    expect(link.stats.seqGaps).toBe(3);
    // One go-back resends the four; the two later gaps are recognised as stale.
    expect(link.stats.retransmissions).toBe(4);
    await link.close();
  });

  it('retransmits at once when a NAK names the request', async () => {
    // A deadline far beyond the test's own timeout: only the NAK can bring the resend.
    const { link, board } = await openOnFake({ link: { retransmitTimeoutMs: 600_000 } });
    // Corrupt the first transmission of the next request on its way to the board.
    const hostWriter = (link as unknown as { writer: WritableStreamDefaultWriter<Uint8Array> }).writer;
    const original = hostWriter.write.bind(hostWriter);
    let first = true;
    hostWriter.write = (chunk?: Uint8Array) => {
      if (first && chunk && chunk.length > 8) {
        first = false;
        const bad = chunk.slice();
        bad[5]! ^= 0x04;
        return original(bad);
      }
      return original(chunk);
    };
    await link.request({ command: 'reg-write', address: FAKE.USART_TDR, value: 9 });
    // Resent on the NAK's hint, not after a deadline passed.
    expect(link.stats.retransmissions).toBe(1);
    expect(link.stats.timeouts).toBe(0);
    expect(link.stats.naks).toBe(1);
    expect(board.usartTx).toEqual([9]);
    await link.close();
  });

  it('refuses HELLO through request() and work after close', async () => {
    const { link } = await openOnFake();
    // @ts-expect-error HELLO is not a sequenced request
    await expect(link.request({ command: 'hello' })).rejects.toBeInstanceOf(LinkUsageError);
    await link.close();
    await expect(link.request(ping(1))).rejects.toBeInstanceOf(LinkClosedError);
  });

  it('stops waiting when aborted, but keeps the seq space whole', async () => {
    const { link, board } = await openOnFake();
    board.onRequest = (r) => (r.command === 'ping' && r.data[0] === 1 ? 'drop-reply' : 'process');
    const controller = new AbortController();
    const p = link.request(ping(1), { signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await expect(p).rejects.toThrow('user gave up');
    board.onRequest = undefined;
    const r = await link.request(ping(2));
    expect(r.result.status).toBe(Status.OK);
    expect(board.executed).toBe(2);
    await link.close();
  });
});

describe('Link: reply hook', () => {
  it('calls onReply synchronously, before an event right behind the reply and before the promise', async () => {
    const { link, board } = await openOnFake();
    const order: string[] = [];
    link.subscribe((n) => n.kind === 'event' && order.push('event'));
    board.onReplied = () =>
      board.emitEvent({ event: 'dma', channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 });
    await link
      .request(
        { command: 'reg-write', address: FAKE.CCR1, value: 0 },
        { onReply: (r) => order.push(r.command) },
      )
      .then(() => order.push('resolved'));
    board.onReplied = undefined;
    await link.request(ping(0));
    // The hook runs first, whatever chunks the frames arrive in and whenever the promise's callbacks run.
    expect(order[0]).toBe('reg-write');
    expect(order.indexOf('event')).toBeGreaterThan(0);
    expect(order).toContain('resolved');
    await link.close();
  });
});

describe('Link: events', () => {
  it('dispatches events and reports gaps in the event counter', async () => {
    const { link, board } = await openOnFake();
    const seen: LinkNotification[] = [];
    link.subscribe((n) => seen.push(n));
    link.subscribe(() => {
      throw new Error('a broken subscriber');
    });
    board.emitEvent({ event: 'dma', channel: 1, flags: 2, cndtr: 0, ccr: 0x93, completions: 1, starts: 1 });
    board.emitEvent({ event: 'usart', flags: 0x10, isr: 0xd0, cndtr1: 5, cndtr2: 0 }, { skipCounters: 2 });
    await link.request(ping(0)); // events and replies share the line: this flushes them
    expect(seen.map((n) => n.kind)).toEqual(['event', 'events-lost', 'event']);
    expect(seen[1]).toEqual({ kind: 'events-lost', expected: 2, received: 4, lost: 2 });
    expect(link.stats.listenerErrors).toBe(3);
    await link.close();
  });
});

describe('Link: failures settle every promise', () => {
  it('fails pending work with DeviceResetError on a BOOT event, then reopens', async () => {
    const { link, board } = await openOnFake();
    const oldEpoch = link.epoch;
    const resets: DeviceResetError[] = [];
    link.subscribe((n) => n.kind === 'reset' && resets.push(n.error));
    board.hang();
    const pending = [link.request(ping(1)), link.request(ping(2))];
    const settled = Promise.allSettled(pending);
    (board as unknown as { stopped: boolean }).stopped = false;
    board.reset();
    const results = await settled;
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(DeviceResetError);
    }
    expect(resets).toHaveLength(1);
    expect(resets[0]!.evidence).toBe('boot-event');
    expect(resets[0]!.message).toMatch(/reopen the session/);
    await expect(link.request(ping(3))).rejects.toBeInstanceOf(DeviceResetError);
    const hello = await link.reopen();
    expect(hello.bootEpoch).not.toBe(oldEpoch);
    expect((await link.request(ping(4))).result.status).toBe(Status.OK);
    expect(resets).toHaveLength(1);
    await link.close();
  });

  it('learns of a silent reset from NO_SESSION', async () => {
    const { link, board } = await openOnFake();
    board.reset({ bootEvent: false });
    const err = await link.request(ping(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceResetError);
    expect((err as DeviceResetError).evidence).toBe('no-session');
    expect((err as DeviceResetError).bootEpoch).toBe(board.bootEpoch);
    await link.reopen();
    expect((await link.request(ping(2))).result.status).toBe(Status.OK);
    await link.close();
  });

  it('learns of a reset from a changed epoch in the HELLO reply', async () => {
    const { link, board } = await openOnFake();
    const resets: LinkNotification[] = [];
    link.subscribe((n) => n.kind === 'reset' && resets.push(n));
    board.reset({ bootEvent: false });
    await link.reopen();
    expect(resets).toHaveLength(1);
    expect((resets[0] as { error: DeviceResetError }).error.evidence).toBe('hello-epoch');
    await link.close();
  });

  it('fails every pending request with LinkClosedError when the transport closes', async () => {
    const { link, board } = await openOnFake();
    const closed: LinkNotification[] = [];
    link.subscribe((n) => n.kind === 'closed' && closed.push(n));
    board.hang();
    const pending = Array.from({ length: 6 }, (_, i) => link.request(ping(i)));
    await board.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(LinkClosedError);
    expect(closed).toHaveLength(1);
    expect(link.state).toBe('closed');
    await link.close();
  });

  it('times out after N retries on the injected clock, failing everything pending', async () => {
    const timers = new ManualTimers();
    const { host, device } = createMemoryTransportPair();
    const board = new FakeBoard(device);
    const opening = Link.open(host, { timers, retransmitTimeoutMs: 100, maxRetries: 3 });
    await settle();
    const link = await opening;
    board.hang();
    const pending = [link.request(ping(1)), link.request(ping(2))];
    const outcome = Promise.allSettled(pending);
    await timers.advance(399);
    expect(link.state).toBe('open');
    await timers.advance(2);
    const results = await outcome;
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof LinkTimeoutError)).toBe(true);
    expect((results[0] as PromiseRejectedResult).reason.message).toMatch(/after 4 attempts/);
    await expect(link.request(ping(3))).rejects.toThrow(/reopen/);
    expect(timers.pending).toBe(0);
    await link.close();
  });

  it('times out a request the board NAKs forever instead of resending it forever', async () => {
    const timers = new ManualTimers();
    const { host, device } = createMemoryTransportPair();
    const board = new FakeBoard(device);
    const opening = Link.open(host, { timers, retransmitTimeoutMs: 100, maxRetries: 3 });
    await settle();
    const link = await opening;
    // From now on every request is answered with a NAK naming it.
    board.onRequest = (r) => {
      board.sendNak(r.seq);
      return 'drop-request';
    };
    const outcome = link.request(ping(1)).catch((e: unknown) => e);
    await timers.advance(450);
    expect(await outcome).toBeInstanceOf(LinkTimeoutError);
    expect(link.stats.naks).toBeGreaterThan(3);
    await link.close();
  });

  it('rejects open() with LinkTimeoutError when nothing answers HELLO', async () => {
    const timers = new ManualTimers();
    const { host } = createMemoryTransportPair();
    const opening = Link.open(host, { timers, retransmitTimeoutMs: 50, maxRetries: 2 });
    const outcome = opening.catch((e: unknown) => e);
    await timers.advance(200);
    const err = await outcome;
    expect(err).toBeInstanceOf(LinkTimeoutError);
    expect((err as Error).message).toMatch(/bridge firmware/);
  });
});
